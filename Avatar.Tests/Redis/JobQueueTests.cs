using System.Diagnostics;
using Avatar.Jobs;
using Avatar.Worker.Jobs;
using StackExchange.Redis;

namespace Avatar.Tests.Redis;

/// <summary>The worker's queue (stream, group, delayed set, dead letters, wake-ups) on a real redis-server of its own.</summary>
public sealed class JobQueueTests : IAsyncLifetime
{
    private readonly Clock _clock = new();
    private RedisServer _server = null!;
    private RedisClientHost _redis = null!;
    private JobQueue _queue = null!;

    private IDatabase Db => _redis.Multiplexer.GetDatabase();

    public async Task InitializeAsync()
    {
        _server = await RedisServer.StartNewAsync();
        _redis = RedisClientHost.Create(_server);
        _queue = new JobQueue(_redis.Multiplexer, _clock);
        await _queue.EnsureGroupAsync();
    }

    public async Task DisposeAsync()
    {
        await _redis.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task AQueuedJobIsDeliveredToOneConsumerWithItsFieldsAndTheTraceOfWhoQueuedIt()
    {
        using var activity = new Activity("sweep").Start();

        await _queue.EnqueueAsync("session.facts", "session.facts:1", """{"sessionId":"1"}""");

        var delivered = Assert.Single(await _queue.ReadNewAsync("worker-1", 10));
        Assert.Equal(new Job("session.facts:1", "session.facts", """{"sessionId":"1"}""", 1, _clock.GetUtcNow().ToUnixTimeMilliseconds(), activity.Id),
            Job.From(delivered));
        Assert.Empty(await _queue.ReadNewAsync("worker-2", 10));
    }

    [Fact]
    public async Task CreatingTheGroupAgainKeepsWhatItDelivered()
    {
        await _queue.EnqueueAsync("probe", "probe:1", "{}");
        Assert.Single(await _queue.ReadNewAsync("worker-1", 10));

        await _queue.EnsureGroupAsync();

        Assert.Empty(await _queue.ReadNewAsync("worker-1", 10));
        Assert.Equal((0, 1, 0, 0), _queue.Depths());
    }

    [Fact]
    public async Task QueueingWakesSubscribers()
    {
        var woken = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await _queue.SubscribeAsync(() => woken.TrySetResult());

        await _queue.EnqueueAsync("probe", "probe:1", "{}");

        await woken.Task.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task ARetryWaitsUntilItIsDueThenComesBackAsTheNextAttemptAndWakesReaders()
    {
        await _queue.EnqueueAsync("probe", "probe:1", "{}");
        var first = Assert.Single(await _queue.ReadNewAsync("worker-1", 10));
        var job = Job.From(first)!;

        await _queue.RetryLaterAsync(first.Id, job, _clock.GetUtcNow().AddMinutes(1));

        Assert.Equal((0, 0, 1, 0), _queue.Depths());
        Assert.Equal(0, await _queue.PromoteDueAsync());
        var woken = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await _queue.SubscribeAsync(() => woken.TrySetResult());
        _clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, await _queue.PromoteDueAsync());
        await woken.Task.WaitAsync(TimeSpan.FromSeconds(5));
        var again = Assert.Single(await _queue.ReadNewAsync("worker-2", 10));
        Assert.Equal(job with { Attempt = 2 }, Job.From(again));
        Assert.Equal((0, 1, 0, 0), _queue.Depths());
    }

    [Fact]
    public async Task ADeadLetterKeepsTheEntryAndWhyAndLeavesNothingPending()
    {
        await Db.StreamAddAsync(JobQueue.Stream, [new("nothing", "useful")]);
        var entry = Assert.Single(await _queue.ReadNewAsync("worker-1", 10));

        await _queue.DeadLetterAsync(entry, "The entry has no id or type.");

        var dead = Assert.Single(await Db.StreamRangeAsync(JobQueue.DeadLetter));
        Assert.Equal(["nothing", "error", "failedAt"], dead.Values.Select(v => v.Name.ToString()));
        Assert.Equal("useful", (string?)dead["nothing"]);
        Assert.Equal("The entry has no id or type.", (string?)dead["error"]);
        Assert.Equal((0, 0, 0, 1), _queue.Depths());
    }

    [Fact]
    public async Task AnEntryIdlePastTheTimeoutIsTakenOverUnlessItsWorkerKeepsItClaimed()
    {
        var idle = TimeSpan.FromMilliseconds(500);
        await _queue.EnqueueAsync("probe", "probe:abandoned", "{}");
        await _queue.EnqueueAsync("probe", "probe:slow", "{}");
        var taken = await _queue.ReadNewAsync("worker-1", 10);
        await Task.Delay(idle + TimeSpan.FromMilliseconds(100));

        await _queue.KeepClaimedAsync("worker-1", taken[1].Id);

        Assert.Equal([taken[0].Id.ToString()], (await _queue.IdleDeliveriesAsync(idle)).Keys);
        var takenOver = await _queue.TakeOverAsync("worker-2", idle);
        Assert.Equal("probe:abandoned", (string?)takenOver?["id"]);
        Assert.Null(await _queue.TakeOverAsync("worker-2", idle));
        // The second delivery is counted: a job that keeps killing its workers is dead-lettered after MaxAttempts.
        Assert.Equal(2, (await _queue.IdleDeliveriesAsync(TimeSpan.Zero))[taken[0].Id.ToString()]);
    }

    private sealed class Clock : TimeProvider
    {
        private DateTimeOffset _now = DateTimeOffset.UtcNow;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
