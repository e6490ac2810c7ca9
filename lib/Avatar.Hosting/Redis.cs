using Avatar.Hosting.ApplicationModel;

namespace Avatar.Hosting;

/// <summary>A Redis server: redis-server in run mode, the redis image when published.</summary>
public sealed class RedisResource(string name, ParameterResource password) : Resource(name), IResourceWithConnectionString
{
    /// <summary>The image used when published to containers.</summary>
    public const string Image = "docker.io/library/redis:7.4";

    /// <summary>The password clients AUTH with (a generated secret unless configured).</summary>
    public ParameterResource Password { get; } = password;

    /// <summary>The server's endpoint.</summary>
    public EndpointAnnotation Endpoint => AnnotationsOf<EndpointAnnotation>().Single();

    /// <summary>StackExchange.Redis' connection string format, as Aspire hands it out.</summary>
    public string GetConnectionString() => $"127.0.0.1:{Endpoint.AllocatedPort},password={Password.Value}";

    /// <inheritdoc />
    public override string TypeName => "Redis";
}

/// <summary>Adds Redis to the application.</summary>
public static class RedisBuilderExtensions
{
    /// <summary>Adds a Redis server with a generated password (<c>{name}-password</c>) and append-only persistence.</summary>
    public static IResourceBuilder<RedisResource> AddRedis(this DistributedApplicationBuilder builder, string name, int? port = null,
        IResourceBuilder<ParameterResource>? password = null)
    {
        var passwordParameter = password?.Resource ?? builder.AddGeneratedSecret($"{name}-password").Resource;
        return builder.AddResource(new RedisResource(name, passwordParameter))
            .WithEndpoint(port, scheme: "tcp", name: "tcp");
    }
}
