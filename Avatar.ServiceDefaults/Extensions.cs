using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// What every Avatar service shares: telemetry, health endpoints, service discovery, resilience, problem details.
/// Lives in Microsoft.Extensions.Hosting so that Program.cs needs no extra using, as in Aspire's template.
/// </summary>
public static class ServiceDefaultsExtensions
{
    internal const string LivenessTag = "live";

    /// <summary>Adds telemetry, health checks, service discovery and resilience for every HttpClient, and problem details.</summary>
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.AddAvatarTelemetry();
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), [LivenessTag]);
        builder.Services.AddProblemDetails();
        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            // Resilience outside discovery: every retry resolves again, so it may reach another replica.
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });
        return builder;
    }

    /// <summary>/health (every check: ready to serve) and /alive (liveness checks only: the process is not stuck).</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks("/health");
        app.MapHealthChecks("/alive", new HealthCheckOptions { Predicate = r => r.Tags.Contains(LivenessTag) });
        return app;
    }
}
