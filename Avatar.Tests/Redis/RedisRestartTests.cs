using Avatar.Redis;

namespace Avatar.Tests.Redis;

public sealed class RedisRestartTests
{
    [Fact]
    public async Task AfterAServerRestartTheSameMultiplexerAndSubscriberWorkAgain()
    {
        await using var server = await RedisServer.StartNewAsync();
        await using var redis = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString);
        var db = redis.GetDatabase();
        var messages = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await redis.GetSubscriber().SubscribeAsync("events", (_, m) => messages.Enqueue((string)m!));
        await db.StringSetAsync("before", "1");

        var inFlight = db.ExecuteAsync("DEBUG", "SLEEP", "1");
        await Task.Delay(100);
        await server.KillAsync();
        await Assert.ThrowsAsync<RedisConnectionException>(() => inFlight);

        await server.StartAsync();
        var value = await RetryAsync(() => db.StringSetAsync("after", "2"));
        Assert.True(value);
        Assert.Equal("2", (string?)await db.StringGetAsync("after"));

        await RetryUntilAsync(async () =>
        {
            await redis.GetSubscriber().PublishAsync("events", "back");
            return messages.Contains("back");
        });
    }

    private static async Task<T> RetryAsync<T>(Func<Task<T>> action)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await action();
            }
            catch (RedisConnectionException) when (attempt < 50)
            {
                await Task.Delay(100);
            }
        }
    }

    private static async Task RetryUntilAsync(Func<Task<bool>> condition)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            if (await condition())
            {
                return;
            }
            await Task.Delay(100);
        }
        Assert.Fail("the condition never held");
    }
}
