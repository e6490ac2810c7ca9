using Avatar.Redis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.Hosting;

/// <summary>Registers Redis the way Aspire's StackExchange.Redis component does.</summary>
public static class RedisHostingExtensions
{
    /// <summary>
    /// Registers one <see cref="ConnectionMultiplexer"/> from <c>ConnectionStrings:{connectionName}</c> (failing fast when it
    /// is missing) and a health check named "redis" that PINGs.
    /// </summary>
    public static IHostApplicationBuilder AddRedisClient(this IHostApplicationBuilder builder, string connectionName)
    {
        var connectionString = builder.Configuration.GetConnectionString(connectionName)
            ?? throw new InvalidOperationException($"Missing configuration ConnectionStrings:{connectionName} (environment variable ConnectionStrings__{connectionName}).");
        var options = ConfigurationOptions.Parse(connectionString);
        builder.Services.AddSingleton(new RedisConnection(options));
        builder.Services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis");
        return builder;
    }

    private sealed class RedisHealthCheck(RedisConnection connection) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var redis = await connection.GetAsync(cancellationToken).ConfigureAwait(false);
                await redis.GetDatabase().PingAsync(cancellationToken).ConfigureAwait(false);
                return HealthCheckResult.Healthy();
            }
            catch (Exception ex) when (ex is RedisConnectionException or RedisTimeoutException or RedisServerException)
            {
                return HealthCheckResult.Unhealthy("Redis is unreachable.", ex);
            }
        }
    }
}
