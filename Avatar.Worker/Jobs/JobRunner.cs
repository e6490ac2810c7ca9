using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;

namespace Avatar.Worker.Jobs;

/// <summary>
/// Runs jobs at least once: reads the group's new entries, runs each under the job_runs ledger and acknowledges it only
/// after its transaction committed. Failures are retried with exponential backoff, then dead-lettered; entries of a
/// worker that died are taken over (XAUTOCLAIM) once idle past the visibility timeout.
/// </summary>
/// <remarks>
/// StackExchange.Redis has no blocking XREADGROUP, and a raw BLOCK would stall every other command on the shared
/// connection. A dedicated connection for blocking reads would be a second multiplexer per process, outside the one the
/// application registers (health, tracing). So the reader reads without blocking and, when it finds nothing, waits for
/// a wake-up published by whoever adds entries (<see cref="JobQueue.WakeChannel"/>), or for
/// <see cref="WorkerOptions.PollInterval"/> at most: a new job starts within milliseconds, an idle worker sends one
/// command per poll, and a missed wake-up costs one poll interval, never a job.
/// </remarks>
internal sealed partial class JobRunner(JobQueue queue, NpgsqlDataSource db, IOptions<WorkerOptions> options, TimeProvider time,
    JobMetrics metrics, ILogger<JobRunner> logger) : BackgroundService
{
    public static readonly ActivitySource Source = new("Avatar.Worker");

    /// <summary>This process's consumer name: the host and pid, so an operator (or a test) can tell who holds a job.</summary>
    public static string Consumer { get; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    private readonly WorkerOptions _options = options.Value;
    private readonly SemaphoreSlim _slots = new(options.Value.Concurrency, options.Value.Concurrency);

    // One pending wake-up at most: many publishes while the reader is busy mean "read again", once.
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await UntilAvailableAsync(async () =>
        {
            await queue.EnsureGroupAsync();
            await queue.SubscribeAsync(() => _wake.Writer.TryWrite(true));
        }, stoppingToken);
        await Task.WhenAll(
            LoopAsync("read", ReadAsync, TimeSpan.Zero, stoppingToken),
            LoopAsync("reclaim", ReclaimAsync, _options.VisibilityTimeout / 2, stoppingToken),
            LoopAsync("promote", _ => queue.PromoteDueAsync(), TimeSpan.FromMilliseconds(250), stoppingToken));
        // Let running jobs finish: an unfinished one is not acknowledged and another worker takes it over.
        for (var i = 0; i < _options.Concurrency; i++)
        {
            await _slots.WaitAsync(CancellationToken.None);
        }
    }

    private async Task ReadAsync(CancellationToken stoppingToken)
    {
        await _slots.WaitAsync(stoppingToken);
        var free = 1;
        while (free < _options.Concurrency && _slots.Wait(0, CancellationToken.None))
        {
            free++;
        }
        StreamEntry[] entries = [];
        try
        {
            entries = await queue.ReadNewAsync(Consumer, free);
        }
        finally
        {
            if (free > entries.Length)
            {
                _slots.Release(free - entries.Length);
            }
        }
        foreach (var entry in entries)
        {
            _ = RunAndReleaseAsync(entry, deliveries: 1, stoppingToken);
        }
        if (entries.Length < free)
        {
            // The stream is drained: sleep until something is added (or the poll interval passes).
            await WaitForWakeAsync(stoppingToken);
        }
    }

    private async Task WaitForWakeAsync(CancellationToken stoppingToken)
    {
        using var poll = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        poll.CancelAfter(_options.PollInterval);
        try
        {
            await _wake.Reader.ReadAsync(poll.Token);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task ReclaimAsync(CancellationToken stoppingToken)
    {
        var deliveries = await queue.IdleDeliveriesAsync(_options.VisibilityTimeout);
        if (deliveries.Count == 0)
        {
            return;
        }
        await _slots.WaitAsync(stoppingToken);
        if (await queue.TakeOverAsync(Consumer, _options.VisibilityTimeout) is not { } entry)
        {
            _slots.Release();
            return;
        }
        LogReclaimed(logger, entry.Id.ToString(), (string?)entry["id"]);
        _ = RunAndReleaseAsync(entry, deliveries.GetValueOrDefault(entry.Id.ToString()) + 1, stoppingToken);
    }

    private async Task RunAndReleaseAsync(StreamEntry entry, int deliveries, CancellationToken stoppingToken)
    {
        try
        {
            await RunAsync(entry, deliveries, stoppingToken);
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException or RedisServerException or OperationCanceledException)
        {
            // Not acknowledged: the entry stays pending and is taken over after the visibility timeout.
            LogUnfinished(logger, entry.Id.ToString(), e.Message);
        }
        finally
        {
            _slots.Release();
        }
    }

    private async Task RunAsync(StreamEntry entry, int deliveries, CancellationToken stoppingToken)
    {
        var job = Job.From(entry);
        if (job is null || !JobHandlers.ByType.TryGetValue(job.Type, out var handler))
        {
            await DeadLetterAsync(entry, job?.Type, job is null ? "The entry has no id or type." : $"Unknown job type '{job.Type}'.");
            return;
        }
        if (deliveries > _options.MaxAttempts)
        {
            await DeadLetterAsync(entry, job.Type, $"Delivered {deliveries - 1} times without finishing: it may be killing its workers.");
            return;
        }
        using var activity = Source.StartActivity($"job {job.Type}", ActivityKind.Consumer, job.TraceParent);
        activity?.SetTag("job.id", job.Id);
        activity?.SetTag("job.attempt", job.Attempt);
        using var keepAlive = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var heartbeat = KeepClaimedAsync(entry.Id, keepAlive.Token);
        try
        {
            var done = await RunInLedgerAsync(job, handler, stoppingToken);
            await queue.AcknowledgeAsync(entry.Id);
            metrics.Completed(job, time.GetUtcNow().ToUnixTimeMilliseconds() - job.Enqueued, done);
        }
        catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            if (e is RedisConnectionException or RedisTimeoutException)
            {
                throw;
            }
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            metrics.Failed(job);
            var error = $"{e.GetType().Name}: {e.Message}";
            if (e is PoisonJobException || job.Attempt >= _options.MaxAttempts)
            {
                await DeadLetterAsync(entry, job.Type, error);
                return;
            }
            var delay = TimeSpan.FromMilliseconds(Math.Min(60_000, _options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, job.Attempt - 1)));
            LogRetry(logger, job.Id, job.Attempt, delay.TotalMilliseconds, error);
            await queue.RetryLaterAsync(entry.Id, job, time.GetUtcNow() + delay);
        }
        finally
        {
            await keepAlive.CancelAsync();
            await heartbeat;
        }
    }

    /// <summary>
    /// Runs the handler in the transaction that records the job in job_runs; false when the job was already done (a
    /// redelivery after a crash between commit and acknowledgement). The row is written first: a concurrent duplicate
    /// waits on it and then finds the job done.
    /// </summary>
    private async Task<bool> RunInLedgerAsync(Job job, JobHandlers.Handler handler, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var claimed = await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO job_runs (job_id, type, completed_at, worker) VALUES (@Id, @Type, now(), @Consumer) ON CONFLICT (job_id) DO NOTHING",
            new { job.Id, job.Type, Consumer }, transaction, commandTimeout: 0, cancellationToken: cancellationToken));
        if (claimed == 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return false;
        }
        await handler(job, connection, transaction, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>Resets the entry's idle time while it runs, so a slow job of a live worker is not taken over.</summary>
    private async Task KeepClaimedAsync(RedisValue entryId, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(_options.VisibilityTimeout / 3, cancellationToken);
                await queue.KeepClaimedAsync(Consumer, entryId);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or RedisConnectionException or RedisTimeoutException or RedisServerException)
        {
        }
    }

    private async Task DeadLetterAsync(StreamEntry entry, string? type, string error)
    {
        LogDeadLettered(logger, entry.Id.ToString(), error);
        metrics.DeadLettered(type);
        await queue.DeadLetterAsync(entry, error);
    }

    /// <summary>Runs a step again and again; a dead Redis or PostgreSQL is logged and waited out, never fatal.</summary>
    private async Task LoopAsync(string name, Func<CancellationToken, Task> step, TimeSpan pause, CancellationToken stoppingToken)
    {
        var backoff = TimeSpan.FromMilliseconds(250);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await step(stoppingToken);
                backoff = TimeSpan.FromMilliseconds(250);
                if (pause > TimeSpan.Zero)
                {
                    await Task.Delay(pause, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException or RedisServerException or NpgsqlException or TimeoutException)
            {
                LogLoopFailed(logger, name, e.Message, backoff.TotalMilliseconds);
                await Task.Delay(backoff, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
                backoff = TimeSpan.FromMilliseconds(Math.Min(backoff.TotalMilliseconds * 2, 5000));
            }
        }
    }

    private async Task UntilAvailableAsync(Func<Task> step, CancellationToken stoppingToken)
    {
        while (true)
        {
            try
            {
                await step();
                return;
            }
            catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
            {
                LogLoopFailed(logger, "start", e.Message, 1000);
                await Task.Delay(1000, stoppingToken);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job loop {Loop} failed ({Error}); trying again in {DelayMs} ms")]
    private static partial void LogLoopFailed(ILogger logger, string loop, string error, double delayMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Took over entry {EntryId} (job {JobId}) from a worker that stopped answering")]
    private static partial void LogReclaimed(ILogger logger, string entryId, string? jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} failed on attempt {Attempt}; retrying in {DelayMs} ms: {Error}")]
    private static partial void LogRetry(ILogger logger, string jobId, int attempt, double delayMs, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Entry {EntryId} went to the dead-letter stream: {Error}")]
    private static partial void LogDeadLettered(ILogger logger, string entryId, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Entry {EntryId} was left unfinished: {Error}")]
    private static partial void LogUnfinished(ILogger logger, string entryId, string error);
}
