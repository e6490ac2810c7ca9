using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Avatar.Api.Data;

/// <summary>The Api's PostgreSQL data source: short timeouts so an outage is a quick 503, never a hang.</summary>
public static class Database
{
    /// <summary>The connection string name the AppHost provides (ConnectionStrings__avatardb).</summary>
    public const string ConnectionName = "avatardb";

    /// <summary>Registers the pooled NpgsqlDataSource and a health check that queries it.</summary>
    public static IHostApplicationBuilder AddDatabase(this IHostApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString(ConnectionName)
            ?? throw new InvalidOperationException($"Missing configuration ConnectionStrings:{ConnectionName} (environment variable ConnectionStrings__{ConnectionName}).");
        var settings = new NpgsqlConnectionStringBuilder(connectionString)
        {
            // A dead database must show as a 503 within a second, not as a request that hangs.
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
