using System.Diagnostics;
using StackExchange.Redis;

namespace Avatar.Jobs;

/// <summary>
/// Where jobs travel: the Redis stream <see cref="Name"/>, read by the consumer group <see cref="Group"/>. Whatever adds
/// entries also publishes on <see cref="WakeChannel"/>, so idle readers pick new jobs up at once.
/// </summary>
public static class JobStream
{
    /// <summary>The stream of queued jobs.</summary>
    public const string Name = "avatar:jobs";

    /// <summary>The consumer group of the workers.</summary>
    public const string Group = "workers";

    /// <summary>Where jobs that keep failing end.</summary>
    public const string DeadLetter = "avatar:jobs:dead";

    /// <summary>The sorted set where retries wait until due.</summary>
    public const string Delayed = "avatar:jobs:delayed";

    /// <summary>
    /// A hint that entries were added, carrying nothing: a lost message (a reconnecting subscriber, an entry added by
    /// hand) only delays a job until the reader's next poll, it never loses one.
    /// </summary>
    public static readonly RedisChannel WakeChannel = RedisChannel.Literal("avatar:jobs:wake");
}

/// <summary>Queues jobs for the workers, from any service.</summary>
public sealed class JobProducer(IConnectionMultiplexer redis, TimeProvider time)
{
    /// <summary>Queues a job; its trace continues from the current activity, so the worker's run joins the caller's trace.</summary>
    public async Task EnqueueAsync(string type, string id, string payloadJson)
    {
        var job = new Job(id, type, payloadJson, 1, time.GetUtcNow().ToUnixTimeMilliseconds(), Activity.Current?.Id);
        var db = redis.GetDatabase();
        await db.StreamAddAsync(JobStream.Name, job.ToFields()).ConfigureAwait(false);
        Wake(db);
    }

    /// <summary>
    /// Wakes idle readers. Fire and forget, after the entries are written: the wake-up is only a hint, and a job that was
    /// queued must not be reported as failed (and queued again) because the hint could not be sent.
    /// </summary>
    public static void Wake(IDatabase db) => db.Publish(JobStream.WakeChannel, RedisValue.EmptyString, CommandFlags.FireAndForget);
}

/// <summary>The jobs a session's end sets off. Their ids name the session, so queuing them twice does the work once.</summary>
public static class SessionJobs
{
    /// <summary>Queues fact extraction and a summary for the ended session.</summary>
    public static async Task QueueEndedAsync(this JobProducer producer, Guid sessionId)
    {
        var payload = $$"""{"sessionId":"{{sessionId}}"}""";
        await producer.EnqueueAsync("session.facts", $"session.facts:{sessionId}", payload).ConfigureAwait(false);
        await producer.EnqueueAsync("session.summary", $"session.summary:{sessionId}", payload).ConfigureAwait(false);
    }
}
