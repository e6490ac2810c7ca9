using Avatar.Hosting;
using Avatar.Hosting.ApplicationModel;
using Avatar.Hosting.Testing;

namespace Avatar.Tests.Hosting;

public sealed class AppHostTests
{
    [Fact]
    public async Task TheTestingBuilderCapturesTheAppHostTopologyWithoutStartingIt()
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Avatar_AppHost>();

        Assert.Equal(
            ["postgres-password", "postgres", "avatardb", "redis-password", "redis", "migrations", "api", "a2f-inference", "a2f-controller", "chat", "worker"],
            builder.Resources.Select(r => r.Name));
        var api = builder.Resources.Single(r => r.Name == "api");
        Assert.Equal(2, api.AnnotationsOf<ReplicaAnnotation>().Single().Replicas);
        Assert.Equal(4008, api.AnnotationsOf<EndpointAnnotation>().Single().Port);
        Assert.Single(builder.Resources.Single(r => r.Name == "a2f-inference").AnnotationsOf<GpuAnnotation>());
    }

    [Fact]
    public async Task KeepOnlyKeepsAResourceAndEverythingItNeeds()
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Avatar_AppHost>();

        builder.KeepOnly("api");

        Assert.Equal(["postgres-password", "postgres", "avatardb", "migrations", "api"],
            builder.Resources.Select(r => r.Name));
    }
}
