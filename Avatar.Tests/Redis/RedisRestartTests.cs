using Avatar.Jobs;
using Avatar.Worker.Jobs;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace Avatar.Tests.Redis;

/// <summary>
/// A redis-server killed mid-use and started again, under the multiplexer that AddRedisClient registers: what the
/// worker counts on to carry on without a restart of its own.
/// </summary>
public sealed class RedisRestartTests
{
    [Fact]
    public async Task AfterAServerRestartTheQueueWorksAgainAndItsWakeUpsArriveOnTheSameSubscription()
    {
        await using var server = await RedisServer.StartNewAsync();
        await using var redis = RedisClientHost.Create(server);
        var queue = new JobQueue(redis.Multiplexer, TimeProvider.System);
        await queue.EnsureGroupAsync();
        var wakeUps = 0;
        await queue.SubscribeAsync(() => Interlocked.Increment(ref wakeUps));
        Assert.Equal(HealthStatus.Healthy, await redis.HealthAsync());

        // A command the server is still busy with (for a second) when it dies. TIME in microseconds: its seconds alone
        // end the loop at the next whole second, which may come before the kill.
        var inFlight = redis.Multiplexer.GetDatabase().ScriptEvaluateAsync(
            "local function now() local t = redis.call('TIME') return t[1] * 1000000 + t[2] end " +
            "local start = now() while now() - start < 1000000 do end");
        await Task.Delay(100);
        await server.KillAsync();

        // An error, not a hang: the worker leaves that job unacknowledged for another to take over.
        var lost = await Record.ExceptionAsync(() => inFlight.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(lost is RedisConnectionException or RedisTimeoutException, $"got {lost?.GetType().Name ?? "no error"}");
        Assert.Equal(HealthStatus.Unhealthy, await redis.HealthAsync());

        await server.StartAsync();
        // This server keeps no data: the group is made again, as a worker does when it starts.
        await RetryAsync(queue.EnsureGroupAsync);
        await RetryAsync(() => queue.EnqueueAsync("probe", "probe:after", "{}"));

        Assert.Equal("probe:after", (string?)Assert.Single(await queue.ReadNewAsync("worker-1", 10))["id"]);
        // A wake-up is fire and forget: one published before the subscriber connection has subscribed again is lost (the
        // worker's poll covers that, JobRunner). So a wake-up goes out every second until one arrives, within the same
        // 10 s: what must hold is that the subscription made before the restart receives again.
        await EventuallyAsync(() => Volatile.Read(ref wakeUps) > 0, "a wake-up on the renewed subscription",
            every10th: () => JobProducer.Wake(redis.Multiplexer.GetDatabase()));
        Assert.Equal(HealthStatus.Healthy, await redis.HealthAsync());
    }

    private static async Task RetryAsync(Func<Task> action)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await action();
                return;
            }
            catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException && attempt < 100)
            {
                await Task.Delay(100);
            }
        }
    }

    private static async Task EventuallyAsync(Func<bool> condition, string what, Action? every10th = null)
    {
        for (var attempt = 0; attempt < 100 && !condition(); attempt++)
        {
            if (attempt % 10 == 9)
            {
                every10th?.Invoke();
            }
            await Task.Delay(100);
        }
        Assert.True(condition(), $"Timed out waiting for {what}.");
    }
}
