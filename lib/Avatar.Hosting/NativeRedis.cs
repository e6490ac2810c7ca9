using System.Text;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;

namespace Avatar.Hosting;

/// <summary>
/// redis-server from the machine's packages: what <c>AddRedis</c> is in run mode on a machine without a container
/// runtime. It listens on 127.0.0.1 with a password, keeping an append-only file in <c>.avatar/{name}</c>.
/// </summary>
public sealed class NativeRedisResource(string name, string command, string dataDirectory, ParameterResource password)
    : ExecutableResource(name, command, dataDirectory), IResourceWithConnectionString
{
    internal const string PrimaryEndpointName = "tcp";
    private EndpointReference? _primaryEndpoint;

    /// <summary>Where the server keeps its configuration and append-only file.</summary>
    public string DataDirectory { get; } = dataDirectory;

    /// <summary>The password: a generated secret, kept in the AppHost's user secrets, unless configured.</summary>
    public ParameterResource PasswordParameter { get; } = password;

    /// <summary>The endpoint clients connect to.</summary>
    public EndpointReference PrimaryEndpoint => _primaryEndpoint ??= new(this, PrimaryEndpointName);

    /// <inheritdoc />
    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"{PrimaryEndpoint.Property(EndpointProperty.HostAndPort)},password={PasswordParameter}");
}

/// <summary>Redis for the AppHost: native in run mode, Aspire's container when published.</summary>
public static class NativeRedisBuilderExtensions
{
    /// <summary>
    /// Adds a Redis server. In run mode it is the machine's redis-server (<c>AVATAR_REDIS_SERVER</c>, else
    /// /usr/bin/redis-server); published, it is <c>AddRedis</c>'s container with a data volume.
    /// </summary>
    public static IResourceBuilder<IResourceWithConnectionString> AddRedisServer(this IDistributedApplicationBuilder builder, string name) =>
        builder.ExecutionContext.IsPublishMode
            ? builder.AddRedis(name).WithDataVolume()
            : builder.AddNativeRedis(name);

    /// <summary>Adds redis-server run from the machine's packages.</summary>
    public static IResourceBuilder<NativeRedisResource> AddNativeRedis(this IDistributedApplicationBuilder builder, string name)
    {
        // StackExchange.Redis cannot take a password with a comma in its connection string.
        var password = ParameterResourceBuilderExtensions.CreateDefaultPasswordParameter(builder, $"{name}-password", special: false);
        var directory = Directory.CreateDirectory(Path.Combine(NativeState.Root(builder), name)).FullName;
        var redis = new NativeRedisResource(name, FindRedisServer(), directory, password);
        var configFile = Path.Combine(directory, "redis.conf");
        var ephemeral = NativeState.IsEphemeral(builder);

        var healthCheckKey = $"{name}_check";
        builder.Services.AddHealthChecks().AddRedis(NativeState.ConnectionStringWhenAvailable(builder, redis), name: healthCheckKey);

        // The password goes into a file only its owner can read, never onto a command line where ps would show it.
        builder.Eventing.Subscribe<BeforeResourceStartedEvent>(redis, async (_, cancellationToken) =>
        {
            var config = new StringBuilder()
                .Append("bind 127.0.0.1\n")
                .Append("protected-mode yes\n")
                .Append("requirepass ").Append(await password.GetValueAsync(cancellationToken).ConfigureAwait(false)).Append('\n')
                .Append("dir ").Append(directory).Append('\n')
                .Append("save \"\"\n")
                .Append(ephemeral ? "appendonly no\n" : "appendonly yes\n")
                .ToString();
            await File.WriteAllTextAsync(configFile, "", cancellationToken).ConfigureAwait(false);
            File.SetUnixFileMode(configFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            await File.WriteAllTextAsync(configFile, config, cancellationToken).ConfigureAwait(false);
        });

        return builder.AddResource(redis)
            .WithEndpoint(name: NativeRedisResource.PrimaryEndpointName, scheme: "tcp")
            .WithArgs(context =>
            {
                context.Args.Add(configFile);
                context.Args.Add("--port");
                context.Args.Add(redis.PrimaryEndpoint.Property(EndpointProperty.TargetPort));
            })
            .WithHealthCheck(healthCheckKey);
    }

    private static string FindRedisServer() =>
        Environment.GetEnvironmentVariable("AVATAR_REDIS_SERVER") is { Length: > 0 } configured ? configured
        : File.Exists("/usr/bin/redis-server") ? "/usr/bin/redis-server"
        : "redis-server";
}
