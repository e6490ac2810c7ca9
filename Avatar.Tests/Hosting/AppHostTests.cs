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
