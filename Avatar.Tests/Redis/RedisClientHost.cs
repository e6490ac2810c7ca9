using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace Avatar.Tests.Redis;

/// <summary>
/// Redis as a service gets it: a host whose only registration is Aspire.StackExchange.Redis' AddRedisClient("redis"),
/// pointed at a real server, with the multiplexer and the health check it registers.
/// </summary>
public sealed class RedisClientHost(IHost host) : IAsyncDisposable
{
    public IConnectionMultiplexer Multiplexer => host.Services.GetRequiredService<IConnectionMultiplexer>();

    public static RedisClientHost Create(RedisServer server)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration["ConnectionStrings:redis"] = server.ConnectionString;
        // Named in full: lib/Avatar.Hosting still brings the stand-in's AddRedisClient into this assembly's references.
        AspireRedisExtensions.AddRedisClient(builder, "redis");
        return new RedisClientHost(builder.Build());
    }

    public async Task<HealthStatus> HealthAsync() =>
        (await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Status;

    public async ValueTask DisposeAsync()
    {
        if (host is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
        else
        {
            host.Dispose();
        }
    }
}
