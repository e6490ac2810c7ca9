using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace Avatar.Npgsql;

/// <summary>Aspire.Npgsql's <c>AddNpgsqlDataSource</c>, with the short timeouts the services want.</summary>
public static class NpgsqlHostingExtensions
{
    /// <summary>
    /// Registers a pooled <see cref="NpgsqlDataSource"/> from <c>ConnectionStrings:{connectionName}</c> and a health check
    /// that queries it. Timeouts are short so that a dead database is a quick error (a 503, a retried job), never a hang.
    /// </summary>
    public static IHostApplicationBuilder AddNpgsqlDataSource(this IHostApplicationBuilder builder, string connectionName)
    {
        var connectionString = builder.Configuration.GetConnectionString(connectionName)
            ?? throw new InvalidOperationException(
                $"Missing configuration ConnectionStrings:{connectionName} (environment variable ConnectionStrings__{connectionName}).");
        var settings = new NpgsqlConnectionStringBuilder(connectionString)
        {
            Timeout = 1,
            CommandTimeout = 5,
            CancellationTimeout = 500,
        };
        builder.Services.AddSingleton(_ => NpgsqlDataSource.Create(settings.ConnectionString));
        builder.Services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("postgres");
        return builder;
    }

    private sealed class DatabaseHealthCheck(NpgsqlDataSource dataSource) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await using var command = dataSource.CreateCommand("SELECT 1");
                await command.ExecuteScalarAsync(cancellationToken);
                return HealthCheckResult.Healthy();
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                return HealthCheckResult.Unhealthy("PostgreSQL is unreachable.", ex);
            }
        }
    }
}
