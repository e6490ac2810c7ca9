using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Avatar.Hosting;

namespace Avatar.Tests.Hosting;

public sealed class AppHostTests
{
    [Fact]
    public async Task TheTestingBuilderCapturesTheAppHostTopologyWithoutStartingIt()
    {
        await using var builder = await AvatarTesting.CreateBuilderAsync();

        Assert.Equal(
            ["postgres", "avatardb", "redis", "migrations", "api", "a2f-inference", "a2f-controller", "chat", "worker"],
            builder.VisibleResourceNames());
        Assert.IsType<NativePostgresServerResource>(builder.Resource("postgres"));
        Assert.IsType<NativeRedisResource>(builder.Resource("redis"));
        var api = builder.Resource("api");
        Assert.Equal(2, api.Annotations.OfType<ReplicaAnnotation>().Single().Replicas);
        Assert.Equal(4008, api.Annotations.OfType<EndpointAnnotation>().Single().Port);
        Assert.Equal(1, builder.Resource("a2f-inference").Annotations.OfType<GpuRequirementAnnotation>().Single().Count);
        Assert.Equal([52000, 51000], builder.Resource("a2f-controller").Annotations.OfType<EndpointAnnotation>()
            .Where(e => e.Name is "grpc" or "animation").OrderBy(e => e.Name == "animation").Select(e => e.Port ?? 0));
    }

    [Fact]
    public async Task KeepOnlyKeepsAResourceAndEverythingItNeeds()
    {
        await using var builder = await AvatarTesting.CreateBuilderAsync();

        builder.KeepOnly("api");

        Assert.Equal(["postgres", "avatardb", "redis", "migrations", "api"], builder.VisibleResourceNames());
    }
}

public sealed class CrashRestartTests
{
    [Fact]
    public async Task AKilledServiceStartsAgainAndAStoppedOneStaysStopped()
    {
        var builder = await AvatarTesting.CreateBuilderAsync();
        builder.KeepOnly("worker");
        await using var app = await builder.StartAsync(TimeSpan.FromSeconds(120), "worker");
        var first = Assert.Single(await app.ProcessIdsAsync("worker"));

        AvatarTesting.Kill(first);

        var second = await EventuallyAsync(async () => (await app.ProcessIdsAsync("worker")).SingleOrDefault(), pid => pid != 0 && pid != first);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("worker").WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal([second], await app.ProcessIdsAsync("worker")); // started once, not once per notification

        await app.StopResourceAsync("worker");
        await Task.Delay(TimeSpan.FromSeconds(3)); // past the first restart delay
        Assert.Empty(await app.ProcessIdsAsync("worker"));
    }

    private static async Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(200);
        }
    }
}
