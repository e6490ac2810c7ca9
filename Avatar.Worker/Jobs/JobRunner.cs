using System.Diagnostics;
using System.Diagnostics.Metrics;
using Avatar.Redis;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Avatar.Worker.Jobs;

/// <summary>
/// Runs jobs at least once: reads the group's new entries, runs each under the job_runs ledger and acknowledges it only
/// after its transaction committed. Failures are retried with exponential backoff, then dead-lettered; entries of a
/// worker that died are taken over (XAUTOCLAIM) once idle past the visibility timeout.
/// </summary>
internal sealed partial class JobRunner(JobQueue queue, NpgsqlDataSource db, IOptions<WorkerOptions> options, TimeProvider time,
    JobMetrics metrics, ILogger<JobRunner> logger) : BackgroundService
{
    public static readonly ActivitySource Source = new("Avatar.Worker");

    /// <summary>This process's consumer name: the host and pid, so an operator (or a test) can tell who holds a job.</summary>
    public static string Consumer { get; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    private readonly WorkerOptions _options = options.Value;
    private readonly SemaphoreSlim _slots = new(options.Value.Concurrency, options.Value.Concurrency);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await UntilAvailableAsync(queue.EnsureGroupAsync, stoppingToken);
        await Task.WhenAll(
            LoopAsync("read", ReadAsync, TimeSpan.Zero, stoppingToken),
            LoopAsync("reclaim", ReclaimAsync, _options.VisibilityTimeout / 2, stoppingToken),
            LoopAsync("promote", async ct => await queue.PromoteDueAsync(ct), TimeSpan.FromMilliseconds(250), stoppingToken));
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
            var database = await queue.Database(stoppingToken);
            entries = await database.StreamReadGroupAsync(JobQueue.Stream, JobQueue.Group, Consumer, ">", free, TimeSpan.FromSeconds(1), stoppingToken);
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
    }

    private async Task ReclaimAsync(CancellationToken stoppingToken)
    {
        var database = await queue.Database(stoppingToken);
        var stale = await database.StreamPendingMessagesAsync(JobQueue.Stream, JobQueue.Group, 100, minIdle: _options.VisibilityTimeout,
            cancellationToken: stoppingToken);
        if (stale.Length == 0)
        {
            return;
        }
        var deliveries = stale.ToDictionary(p => p.MessageId.ToString()!, p => p.DeliveryCount);
        await _slots.WaitAsync(stoppingToken);
        var claimed = await database.StreamAutoClaimAsync(JobQueue.Stream, JobQueue.Group, Consumer, _options.VisibilityTimeout, count: 1,
            cancellationToken: stoppingToken);
        if (claimed.ClaimedEntries is not [var entry, ..])
        {
            _slots.Release();
            return;
        }
        LogReclaimed(logger, entry.Id.ToString()!, entry["id"].ToString());
        _ = RunAndReleaseAsync(entry, deliveries.GetValueOrDefault(entry.Id.ToString()!) + 1, stoppingToken);
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
            LogUnfinished(logger, entry.Id.ToString()!, e.Message);
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
            await DeadLetterAsync(entry, job?.Type, job is null ? "The entry has no id or type." : $"Unknown job type '{job.Type}'.", stoppingToken);
            return;
        }
        if (deliveries > _options.MaxAttempts)
        {
            await DeadLetterAsync(entry, job.Type, $"Delivered {deliveries - 1} times without finishing: it may be killing its workers.", stoppingToken);
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
            await (await queue.Database(stoppingToken)).StreamAcknowledgeAsync(JobQueue.Stream, JobQueue.Group, [entry.Id], stoppingToken);
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
                await DeadLetterAsync(entry, job.Type, error, stoppingToken);
                return;
            }
            var delay = TimeSpan.FromMilliseconds(Math.Min(60_000, _options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, job.Attempt - 1)));
            LogRetry(logger, job.Id, job.Attempt, delay.TotalMilliseconds, error);
            await queue.RetryLaterAsync(entry.Id, job, time.GetUtcNow() + delay, stoppingToken);
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
                await (await queue.Database(cancellationToken)).ExecuteAsync("XCLAIM", JobQueue.Stream, JobQueue.Group, Consumer, 0, entryId, "JUSTID");
            }
        }
        catch (Exception e) when (e is OperationCanceledException or RedisConnectionException or RedisTimeoutException or RedisServerException)
        {
        }
    }

    private async Task DeadLetterAsync(StreamEntry entry, string? type, string error, CancellationToken cancellationToken)
    {
        LogDeadLettered(logger, entry.Id.ToString()!, error);
        metrics.DeadLettered(type);
        await queue.DeadLetterAsync(entry, error, cancellationToken);
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

    private async Task UntilAvailableAsync(Func<CancellationToken, Task> step, CancellationToken stoppingToken)
    {
        while (true)
        {
            try
            {
                await step(stoppingToken);
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
