using System.Diagnostics;
using System.Text.Json;
using Avatar.Redis;

namespace Avatar.Worker.Jobs;

/// <summary>
/// The job queue on Redis Streams: <see cref="Stream"/> read by the consumer group <see cref="Group"/>; retries wait in
/// the sorted set <see cref="Delayed"/> until due; jobs that keep failing end in <see cref="DeadLetter"/>. Every move
/// between them is one Lua script, so a crash never leaves a job in two places or in none.
/// </summary>
public sealed class JobQueue(RedisConnection redis, TimeProvider time)
{
    public const string Stream = "avatar:jobs";
    public const string Group = "workers";
    public const string DeadLetter = "avatar:jobs:dead";
    public const string Delayed = "avatar:jobs:delayed";

    private const string RetryScript = """
        redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
        return redis.call('XACK', KEYS[2], ARGV[3], ARGV[4])
        """;

    private const string DeadLetterScript = """
        redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
        return redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
        """;

    private const string PromoteScript = """
        local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 100)
        for _, member in ipairs(due) do
          local job = cjson.decode(member)
          redis.call('XADD', KEYS[2], '*', 'id', job.id, 'type', job.type, 'payload', job.payload, 'attempt', job.attempt,
            'enqueued', job.enqueued, 'traceparent', job.traceparent)
          redis.call('ZREM', KEYS[1], member)
        end
        return #due
        """;

    /// <summary>Queues a job; its trace continues from the current activity.</summary>
    public async Task EnqueueAsync(string type, string id, string payloadJson, CancellationToken cancellationToken)
    {
        var job = new Job(id, type, payloadJson, 1, time.GetUtcNow().ToUnixTimeMilliseconds(), Activity.Current?.Id);
        await (await Database(cancellationToken)).StreamAddAsync(Stream, job.ToFields(), cancellationToken: cancellationToken);
    }

    /// <summary>Creates the consumer group (and the stream) if missing.</summary>
    public async Task EnsureGroupAsync(CancellationToken cancellationToken) =>
        await (await Database(cancellationToken)).StreamCreateConsumerGroupAsync(Stream, Group, "0", cancellationToken);

    /// <summary>Schedules the next attempt at <paramref name="due"/> and acknowledges this delivery.</summary>
    public async Task RetryLaterAsync(RedisValue entryId, Job job, DateTimeOffset due, CancellationToken cancellationToken)
    {
        var next = job with { Attempt = job.Attempt + 1 };
        var member = JsonSerializer.Serialize(next.ToFields().ToDictionary(f => f.Name.ToString()!, f => f.Value.ToString()));
        await (await Database(cancellationToken)).ScriptEvaluateAsync(RetryScript, [Delayed, Stream],
            [due.ToUnixTimeMilliseconds(), member, Group, entryId], cancellationToken);
    }

    /// <summary>Moves the entry, with why, to the dead-letter stream and acknowledges it.</summary>
    public async Task DeadLetterAsync(StreamEntry entry, string error, CancellationToken cancellationToken)
    {
        RedisValue[] fields =
        [
            Group, entry.Id,
            .. entry.Values.Where(v => v.Name != "error" && v.Name != "failedAt").SelectMany(v => new[] { v.Name, v.Value }),
            "error", error, "failedAt", time.GetUtcNow().ToUnixTimeMilliseconds(),
        ];
        await (await Database(cancellationToken)).ScriptEvaluateAsync(DeadLetterScript, [DeadLetter, Stream], fields, cancellationToken);
    }

    /// <summary>Moves retries that are due back into the stream; how many moved.</summary>
    public async Task<long> PromoteDueAsync(CancellationToken cancellationToken) =>
        (long)await (await Database(cancellationToken)).ScriptEvaluateAsync(PromoteScript, [Delayed, Stream],
            [time.GetUtcNow().ToUnixTimeMilliseconds()], cancellationToken);

    internal async Task<RedisDatabase> Database(CancellationToken cancellationToken) => (await redis.GetAsync(cancellationToken)).GetDatabase();
}
