using System.Diagnostics.Metrics;
using StackExchange.Redis;

namespace Avatar.Worker.Jobs;

/// <summary>
/// The worker's meter "Avatar.Worker": queue depth (entries not yet delivered to the group), pending (delivered, not
/// acknowledged), delayed retries and dead letters, read from Redis when exported; job latency from first queued to done.
/// </summary>
internal sealed class JobMetrics : IDisposable
{
    private readonly JobQueue _queue;
    private readonly Meter _meter = new("Avatar.Worker");
    private readonly Counter<long> _completed;
    private readonly Counter<long> _failed;
    private readonly Counter<long> _deadLettered;
    private readonly Histogram<double> _latency;
    private (long Lag, long Pending, long Delayed, long Dead) _depths;
    private long _depthsReadAt;

    public JobMetrics(JobQueue queue)
    {
        _queue = queue;
        _completed = _meter.CreateCounter<long>("avatar.jobs.completed", "{job}");
        _failed = _meter.CreateCounter<long>("avatar.jobs.failed", "{job}", "Attempts that threw; they are retried or dead-lettered.");
        _deadLettered = _meter.CreateCounter<long>("avatar.jobs.dead_lettered", "{job}");
        _latency = _meter.CreateHistogram<double>("avatar.jobs.latency", "ms", "From first queued to done, retries included.");
        _meter.CreateObservableGauge("avatar.jobs.queue_depth", () => Depths().Lag, "{job}", "Entries not yet delivered to any worker.");
        _meter.CreateObservableGauge("avatar.jobs.pending", () => Depths().Pending, "{job}", "Delivered and not yet acknowledged.");
        _meter.CreateObservableGauge("avatar.jobs.delayed", () => Depths().Delayed, "{job}", "Retries waiting for their time.");
        _meter.CreateObservableGauge("avatar.jobs.dead", () => Depths().Dead, "{job}", "Entries in the dead-letter stream.");
    }

    public void Completed(Job job, long latencyMs, bool didWork)
    {
        _completed.Add(1, new KeyValuePair<string, object?>("job.type", job.Type), new("job.duplicate", !didWork));
        _latency.Record(latencyMs, new KeyValuePair<string, object?>("job.type", job.Type));
    }

    public void Failed(Job job) => _failed.Add(1, new KeyValuePair<string, object?>("job.type", job.Type));

    public void DeadLettered(string? type) => _deadLettered.Add(1, new KeyValuePair<string, object?>("job.type", type ?? "unknown"));

    /// <summary>Read at most once a second, and only when a reader asks: gauges are observed on export.</summary>
    private (long Lag, long Pending, long Delayed, long Dead) Depths()
    {
        var now = Environment.TickCount64;
        if (now - Interlocked.Read(ref _depthsReadAt) < 1000)
        {
            return _depths;
        }
        Interlocked.Exchange(ref _depthsReadAt, now);
        try
        {
            // Observable callbacks are synchronous; this runs on the exporter's thread, never on a request's.
            _depths = _queue.Depths();
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            // Keep the last reading while Redis is away.
        }
        return _depths;
    }

    public void Dispose() => _meter.Dispose();
}
