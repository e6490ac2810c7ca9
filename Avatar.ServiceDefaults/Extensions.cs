using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// What every Avatar service shares, in the shape of Aspire's ServiceDefaults template: OpenTelemetry, health
/// endpoints, service discovery, standard resilience for every HttpClient, and problem details. Lives in
/// Microsoft.Extensions.Hosting so that Program.cs needs no extra using.
/// </summary>
public static class ServiceDefaultsExtensions
{
    private const string HealthEndpointPath = "/health";
    private const string AlivenessEndpointPath = "/alive";
    private const string LivenessTag = "live";

    /// <summary>Activity sources and meters of Avatar's own code: each library and service names its own under "Avatar.".</summary>
    private const string AvatarTelemetry = "Avatar.*";

    /// <summary>Adds telemetry, health checks, service discovery and resilience for every HttpClient, problem details and the rate limit metrics.</summary>
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();
        builder.Services.AddProblemDetails();
        builder.Services.AddSingleton<RateLimitMetrics>();
        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            // A retry may not be safe to repeat for POST and PATCH: only idempotent requests are retried.
            http.AddStandardResilienceHandler(options => options.Retry.DisableForUnsafeHttpMethods());
            http.AddServiceDiscovery();
        });
        return builder;
    }

    /// <summary>
    /// Logs, traces and metrics: ASP.NET Core, HttpClient, gRPC client, Npgsql, the runtime and Avatar's own sources,
    /// exported over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the AppHost sets it). The service's name and
    /// instance come from <c>OTEL_SERVICE_NAME</c> and <c>OTEL_RESOURCE_ATTRIBUTES</c>, which the AppHost sets per replica.
    /// </summary>
    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddNpgsqlInstrumentation()
                .AddMeter(AvatarTelemetry))
            .WithTracing(tracing => tracing
                .AddSource(builder.Environment.ApplicationName, AvatarTelemetry)
                // Probes every few seconds would bury the traces that matter.
                .AddAspNetCoreInstrumentation(options =>
                {
                    options.Filter = context =>
                        !context.Request.Path.StartsWithSegments(HealthEndpointPath) && !context.Request.Path.StartsWithSegments(AlivenessEndpointPath);
                    // Query strings carry credentials (chat's ?ticket=, which browsers cannot send as a header), and the
                    // span's url.query came out with them in full: keep the names, never the values. Set again when the
                    // response ends, since the request span's tags may be written after the request callback.
                    options.EnrichWithHttpRequest = (activity, request) => RedactQuery(activity, request.QueryString);
                    options.EnrichWithHttpResponse = (activity, response) => RedactQuery(activity, response.HttpContext.Request.QueryString);
                })
                .AddGrpcClientInstrumentation()
                .AddHttpClientInstrumentation()
                .AddNpgsql());

        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            builder.Services.AddOpenTelemetry().UseOtlpExporter();
        }
        return builder;
    }

    /// <summary>The query's names with every value replaced: <c>?ticket=Redacted</c>.</summary>
    private static void RedactQuery(System.Diagnostics.Activity activity, Microsoft.AspNetCore.Http.QueryString query)
    {
        if (!query.HasValue)
        {
            return;
        }
        var names = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(query.Value).Keys;
        activity.SetTag("url.query", "?" + string.Join("&", names.Select(name => $"{Uri.EscapeDataString(name)}=Redacted")));
    }

    /// <summary>
    /// Limits against slow and oversized requests on a public HTTP service, each overridable in configuration:
    /// <c>Kestrel:Limits:RequestHeadersTimeout</c> (10 s: a client that dribbles its headers holds a connection for no
    /// more than that), <c>Kestrel:Limits:MinRequestBodyDataRate:BytesPerSecond</c> and <c>:GracePeriod</c> (240 B/s after
    /// 5 s, Kestrel's own default made explicit) and <c>Kestrel:Limits:MaxRequestBodySize</c> (<paramref name="maxBodyBytes"/>).
    /// </summary>
    public static WebApplicationBuilder AddRequestLimits(this WebApplicationBuilder builder, long maxBodyBytes)
    {
        var limits = builder.Configuration.GetSection("Kestrel:Limits");
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.RequestHeadersTimeout = limits.GetValue("RequestHeadersTimeout", TimeSpan.FromSeconds(10));
            kestrel.Limits.MinRequestBodyDataRate = new MinDataRate(
                limits.GetValue("MinRequestBodyDataRate:BytesPerSecond", 240.0), limits.GetValue("MinRequestBodyDataRate:GracePeriod", TimeSpan.FromSeconds(5)));
            kestrel.Limits.MaxRequestBodySize = limits.GetValue("MaxRequestBodySize", maxBodyBytes);
        });
        return builder;
    }

    /// <summary>A liveness check that answers as long as the process does.</summary>
    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), [LivenessTag]);
        return builder;
    }

    /// <summary>/health (every check: ready to serve) and /alive (liveness checks only: the process is not stuck).</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        // Unlike Aspire's template, these answer in every environment: Kubernetes probes them in production, and they
        // report nothing but Healthy, Degraded or Unhealthy.
        app.MapHealthChecks(HealthEndpointPath);
        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions { Predicate = r => r.Tags.Contains(LivenessTag) });
        return app;
    }
}
