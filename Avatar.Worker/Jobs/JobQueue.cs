using System.Text.Json;
using Avatar.Jobs;
using StackExchange.Redis;

namespace Avatar.Worker.Jobs;

/// <summary>
/// The job queue on Redis Streams, as the workers see it (<see cref="JobStream"/>): <see cref="Stream"/> read by the
/// consumer group <see cref="Group"/>; retries wait in the sorted set <see cref="Delayed"/> until due; jobs that keep
/// failing end in <see cref="DeadLetter"/>. Every move between them is one Lua script, so a crash never leaves a job in
/// two places or in none.
/// </summary>
public sealed class JobQueue(IConnectionMultiplexer redis, TimeProvider time)
{
    public const string Stream = JobStream.Name;
    public const string Group = JobStream.Group;
    public const string DeadLetter = JobStream.DeadLetter;
    public const string Delayed = JobStream.Delayed;

    private readonly JobProducer _producer = new(redis, time);

    private readonly IDatabase _db = redis.GetDatabase();

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
    public Task EnqueueAsync(string type, string id, string payloadJson) => _producer.EnqueueAsync(type, id, payloadJson);

    /// <summary>Calls <paramref name="onWake"/> whenever entries may have been added; renewed by the client after a reconnect.</summary>
    public Task SubscribeAsync(Action onWake) => redis.GetSubscriber().SubscribeAsync(JobStream.WakeChannel, (_, _) => onWake());

    /// <summary>Creates the consumer group (and the stream) if missing.</summary>
    public async Task EnsureGroupAsync()
    {
        try
        {
            await _db.StreamCreateConsumerGroupAsync(Stream, Group, "0", createStream: true);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
        }
    }

    /// <summary>Up to <paramref name="count"/> entries never delivered to the group, now delivered to <paramref name="consumer"/>.</summary>
    public Task<StreamEntry[]> ReadNewAsync(string consumer, int count) =>
        _db.StreamReadGroupAsync(Stream, Group, consumer, StreamPosition.NewMessages, count);

    /// <summary>Marks the entry done for the group.</summary>
    public Task AcknowledgeAsync(RedisValue entryId) => _db.StreamAcknowledgeAsync(Stream, Group, entryId);

    /// <summary>How many times each entry idle for at least <paramref name="minIdle"/> was delivered (its worker is presumed dead).</summary>
    public async Task<Dictionary<string, int>> IdleDeliveriesAsync(TimeSpan minIdle)
    {
        var idle = await _db.StreamPendingMessagesAsync(Stream, Group, 100, RedisValue.Null, minIdleTimeInMs: (long)minIdle.TotalMilliseconds);
        return idle.ToDictionary(p => p.MessageId.ToString(), p => p.DeliveryCount);
    }

    /// <summary>Moves one entry idle for at least <paramref name="minIdle"/> to <paramref name="consumer"/> (XAUTOCLAIM); null when none is.</summary>
    public async Task<StreamEntry?> TakeOverAsync(string consumer, TimeSpan minIdle)
    {
        var claimed = await _db.StreamAutoClaimAsync(Stream, Group, consumer, (long)minIdle.TotalMilliseconds, "0-0", count: 1);
        return claimed.ClaimedEntries is [var entry, ..] ? entry : null;
    }

    /// <summary>Resets the entry's idle time, so that it is not taken over while its worker is alive.</summary>
    public Task KeepClaimedAsync(string consumer, RedisValue entryId) =>
        _db.StreamClaimIdsOnlyAsync(Stream, Group, consumer, 0, [entryId]);

    /// <summary>Entries not yet delivered, delivered but unacknowledged, waiting retries and dead letters, read synchronously.</summary>
    public (long Lag, long Pending, long Delayed, long Dead) Depths()
    {
        var group = _db.StreamGroupInfo(Stream).FirstOrDefault(g => g.Name == Group);
        return (group.Lag ?? 0, group.PendingMessageCount, _db.SortedSetLength(Delayed), _db.StreamLength(DeadLetter));
    }

    /// <summary>Schedules the next attempt at <paramref name="due"/> and acknowledges this delivery.</summary>
    public async Task RetryLaterAsync(RedisValue entryId, Job job, DateTimeOffset due)
    {
        var next = job with { Attempt = job.Attempt + 1 };
        var member = JsonSerializer.Serialize(next.ToFields().ToDictionary(f => f.Name.ToString(), f => f.Value.ToString()));
        await _db.ScriptEvaluateAsync(RetryScript, [Delayed, Stream], [due.ToUnixTimeMilliseconds(), member, Group, entryId]);
    }

    /// <summary>Moves the entry, with why, to the dead-letter stream and acknowledges it.</summary>
    public async Task DeadLetterAsync(StreamEntry entry, string error)
    {
        RedisValue[] fields =
        [
            Group, entry.Id,
            .. entry.Values.Where(v => v.Name != "error" && v.Name != "failedAt").SelectMany(v => new[] { v.Name, v.Value }),
            "error", error, "failedAt", time.GetUtcNow().ToUnixTimeMilliseconds(),
        ];
        await _db.ScriptEvaluateAsync(DeadLetterScript, [DeadLetter, Stream], fields);
    }

    /// <summary>Moves retries that are due back into the stream; how many moved.</summary>
    public async Task<long> PromoteDueAsync()
    {
        var moved = (long)await _db.ScriptEvaluateAsync(PromoteScript, [Delayed, Stream], [time.GetUtcNow().ToUnixTimeMilliseconds()]);
        if (moved > 0)
        {
            JobProducer.Wake(_db);
        }
        return moved;
    }
}
