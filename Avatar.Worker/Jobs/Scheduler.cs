using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;

namespace Avatar.Worker.Jobs;

/// <summary>
/// Periodic work that runs once per period across all worker replicas: the replica that wins
/// <c>SET avatar:schedule:&lt;name&gt;:&lt;period&gt; NX</c> runs it; the others skip that period. Each run is counted in
/// <c>avatar:schedule:&lt;name&gt;:runs</c>.
/// </summary>
internal sealed partial class Scheduler(JobProducer producer, IConnectionMultiplexer redis, NpgsqlDataSource db, IOptions<WorkerOptions> options,
    TimeProvider time, ILogger<Scheduler> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        (string Name, TimeSpan Period, Func<CancellationToken, Task> Run)[] schedule =
        [
            ("sessions.sweep", options.Value.SweepInterval, SweepEndedSessionsAsync),
            ("retention.purge", options.Value.RetentionInterval, PurgeAsync),
        ];
        var last = new long[schedule.Length];
        Array.Fill(last, -1);
        using var ticks = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Clamp(options.Value.SweepInterval.TotalMilliseconds / 4, 50, 1000)), time);
        while (await ticks.WaitForNextTickAsync(stoppingToken))
        {
            for (var i = 0; i < schedule.Length; i++)
            {
                var (name, period, run) = schedule[i];
                var index = time.GetUtcNow().ToUnixTimeMilliseconds() / (long)period.TotalMilliseconds;
                if (index == last[i])
                {
                    continue;
                }
                try
                {
                    if (await ClaimAsync(name, index, period))
                    {
                        // The jobs a run queues carry this trace, so a session's facts trace back to the sweep that found it.
                        using var activity = JobRunner.Source.StartActivity($"schedule {name}");
                        await run(stoppingToken);
                    }
                    last[i] = index;
                }
                catch (Exception e) when (e is RedisException or NpgsqlException or TimeoutException)
                {
                    LogFailed(logger, name, e.Message);
                }
            }
        }
    }

    private async Task<bool> ClaimAsync(string name, long index, TimeSpan period)
    {
        var database = redis.GetDatabase();
        if (!await database.StringSetAsync($"avatar:schedule:{name}:{index}", JobRunner.Consumer, period * 2, When.NotExists))
        {
            return false;
        }
        await database.StringIncrementAsync($"avatar:schedule:{name}:runs");
        return true;
    }

    /// <summary>
    /// Queues fact extraction and a summary for sessions that ended and whose jobs the Api could not queue (Redis was
    /// unreachable when the session ended), so none is missed. Queued before being marked: a crash in between
    /// queues them again, which the job ledger absorbs.
    /// </summary>
    private async Task SweepEndedSessionsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var ended = (await connection.QueryAsync<Guid>(new CommandDefinition(
            "SELECT id FROM sessions WHERE status = 'ended' AND jobs_queued_at IS NULL ORDER BY ended_at LIMIT 100",
            cancellationToken: cancellationToken))).ToList();
        foreach (var id in ended)
        {
            await producer.QueueEndedAsync(id);
        }
        if (ended.Count > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition("UPDATE sessions SET jobs_queued_at = now() WHERE id = ANY(@ended)",
                new { ended }, cancellationToken: cancellationToken));
            LogQueued(logger, ended.Count);
        }
    }

    /// <summary>Deletes transcripts past the retention period (facts and summaries stay) and expired tickets.</summary>
    private async Task PurgeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var cutoff = time.GetUtcNow().UtcDateTime.AddDays(-options.Value.RetentionDays);
        var messages = await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM messages m USING sessions s WHERE m.session_id = s.id AND s.status = 'ended' AND s.ended_at < @cutoff",
            new { cutoff }, commandTimeout: 60, cancellationToken: cancellationToken));
        var tickets = await connection.ExecuteAsync(new CommandDefinition("DELETE FROM tickets WHERE expires_at < now()",
            cancellationToken: cancellationToken));
        LogPurged(logger, messages, tickets, options.Value.RetentionDays);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Scheduled job {Name} failed: {Error}")]
    private static partial void LogFailed(ILogger logger, string name, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Queued end-of-session jobs for {Count} sessions")]
    private static partial void LogQueued(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Purged {Messages} messages older than {Days} days and {Tickets} expired tickets")]
    private static partial void LogPurged(ILogger logger, int messages, int tickets, int days);
}
