using Avatar.Redis;

namespace Avatar.Tests.Redis;

public sealed class RedisClientTests : IAsyncLifetime
{
    private RedisServer _server = null!;
    private ConnectionMultiplexer _redis = null!;

    public async Task InitializeAsync()
    {
        _server = await RedisServer.StartNewAsync();
        _redis = await ConnectionMultiplexer.ConnectAsync(_server.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await _redis.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task StringsRoundTripWithExpiryAndConditions()
    {
        var db = _redis.GetDatabase();

        Assert.True(await db.StringSetAsync("greeting", "héllo 👋"));
        Assert.Equal("héllo 👋", (string?)await db.StringGetAsync("greeting"));
        Assert.False(await db.StringSetAsync("greeting", "again", when: When.NotExists));
        Assert.True((await db.StringGetAsync("missing")).IsNull);
        Assert.Equal(5, await db.StringIncrementAsync("counter", 5));
        Assert.Equal(["héllo 👋", null, "5"], (await db.StringGetAsync(["greeting", "missing", "counter"])).Select(v => (string?)v));

        await db.StringSetAsync("short", new byte[] { 0, 1, 2, 255 }, TimeSpan.FromSeconds(30));
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, (byte[]?)await db.StringGetAsync("short"));
        Assert.InRange((await db.KeyTimeToLiveAsync("short"))!.Value.TotalSeconds, 25, 30);
        Assert.True(await db.KeyDeleteAsync("short"));
        Assert.False(await db.KeyExistsAsync("short"));
    }

    [Fact]
    public async Task HashesKeepTheirFields()
    {
        var db = _redis.GetDatabase();

        await db.HashSetAsync("user:1", [new("name", "Ann"), new("visits", 1)]);
        Assert.Equal(3, await db.HashIncrementAsync("user:1", "visits", 2));
        Assert.Equal("Ann", (string?)await db.HashGetAsync("user:1", "name"));
        Assert.True(await db.HashDeleteAsync("user:1", "name"));

        var all = await db.HashGetAllAsync("user:1");
        Assert.Equal([new HashEntry("visits", "3")], all);
    }

    [Fact]
    public async Task ThousandsOfConcurrentCallsOnOneConnectionEachGetTheirOwnAnswer()
    {
        var db = _redis.GetDatabase();

        await Task.WhenAll(Enumerable.Range(0, 5000).Select(i => db.StringSetAsync($"k{i}", $"v{i}")));
        var values = await Task.WhenAll(Enumerable.Range(0, 5000).Select(i => db.StringGetAsync($"k{i}")));

        Assert.Equal(Enumerable.Range(0, 5000).Select(i => $"v{i}"), values.Select(v => (string?)v));
    }

    [Fact]
    public async Task AWrongPasswordIsAClearConnectionError()
    {
        var error = await Assert.ThrowsAsync<RedisConnectionException>(() =>
            ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{_server.Port},password=wrong"));

        Assert.Contains("WRONGPASS", error.Message);
    }

    [Fact]
    public async Task ServerErrorsCarryRedisOwnMessage()
    {
        var db = _redis.GetDatabase();
        await db.HashSetAsync("a-hash", "f", "v");

        var error = await Assert.ThrowsAsync<RedisServerException>(() => db.StringIncrementAsync("a-hash"));

        Assert.StartsWith("WRONGTYPE", error.Message);
        Assert.Equal("v", (string?)await db.HashGetAsync("a-hash", "f")); // the connection is still in step
    }

    [Fact]
    public async Task PublishedMessagesReachSubscribers()
    {
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscriber = _redis.GetSubscriber();
        await subscriber.SubscribeAsync("news", (_, message) => received.TrySetResult((string)message!));

        Assert.Equal(1, await subscriber.PublishAsync("news", "hello"));
        Assert.Equal("hello", await received.Task.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task StreamConsumerGroupsDeliverAcknowledgeAndReclaimFromADeadConsumer()
    {
        var db = _redis.GetDatabase();
        Assert.True(await db.StreamCreateConsumerGroupAsync("jobs", "workers", "0"));
        Assert.False(await db.StreamCreateConsumerGroupAsync("jobs", "workers", "0"));
        var first = await db.StreamAddAsync("jobs", [new("kind", "facts"), new("session", "s1")]);
        var second = await db.StreamAddAsync("jobs", [new("kind", "summary")], maxLength: 1000);

        var taken = await db.StreamReadGroupAsync("jobs", "workers", "dead-worker", count: 10);
        Assert.Equal([first, second], taken.Select(e => e.Id));
        Assert.Equal("s1", (string?)taken[0]["session"]);
        Assert.Equal(1, await db.StreamAcknowledgeAsync("jobs", "workers", [second]));

        var pending = await db.StreamPendingAsync("jobs", "workers");
        Assert.Equal(1, pending.PendingMessageCount);
        Assert.Equal("dead-worker", (string?)pending.Consumers.Single().Name);

        await Task.Delay(150);
        var claimed = await db.StreamAutoClaimAsync("jobs", "workers", "live-worker", TimeSpan.FromMilliseconds(100));
        Assert.Equal([first], claimed.ClaimedEntries.Select(e => e.Id));
        var details = await db.StreamPendingMessagesAsync("jobs", "workers", 10);
        Assert.Equal("live-worker", (string?)details.Single().ConsumerName);
        Assert.Equal(2, details.Single().DeliveryCount);
        Assert.Equal(2, await db.StreamLengthAsync("jobs"));
    }

    [Fact]
    public async Task ABlockingReadWaitsForAnEntryWithoutHoldingUpOtherCommands()
    {
        var db = _redis.GetDatabase();
        await db.StreamCreateConsumerGroupAsync("events", "g");

        var blocked = db.StreamReadGroupAsync("events", "g", "c", block: TimeSpan.FromSeconds(5));
        await db.PingAsync(); // answered while the read is still waiting
        Assert.False(blocked.IsCompleted);
        await db.StreamAddAsync("events", [new("n", 1)]);

        Assert.Single(await blocked.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task ScriptsRunWithKeysAndArguments()
    {
        var db = _redis.GetDatabase();

        var result = await db.ScriptEvaluateAsync("redis.call('SET', KEYS[1], ARGV[1]); return {KEYS[1], tonumber(ARGV[2]) * 2}", ["lua-key"], ["lua-value", 21]);

        Assert.Equal(["lua-key", "42"], result.ToArray().Select(r => r.ToString()));
        Assert.Equal("lua-value", (string?)await db.StringGetAsync("lua-key"));
    }

    [Fact]
    public async Task ACancelledCallIsCancelledAndASlowOneTimesOut()
    {
        var db = _redis.GetDatabase();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => db.StringGetAsync("x", cancelled.Token));
        await Assert.ThrowsAsync<RedisTimeoutException>(() => db.ExecuteAsync("DEBUG", "SLEEP", "3"));
        await Task.Delay(1500); // let the sleep finish before the server is stopped
    }
}
