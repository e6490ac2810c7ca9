using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Traces, metrics and logs over OTLP, only when OTEL_EXPORTER_OTLP_ENDPOINT is set (the AppHost sets it). ASP.NET Core,
/// HttpClient and Npgsql emit activities and meters of their own in .NET 10, so no instrumentation package is needed:
/// listening to their sources is enough. The SDK's hosting package is not available here, so the providers are built
/// directly and their lifetime tied to the host (flushed and disposed on shutdown).
/// </summary>
public static class TelemetryExtensions
{
    /// <summary>Activity sources every service listens to; services add their own under "Avatar.*".</summary>
    public static readonly string[] Sources = ["Microsoft.AspNetCore", "System.Net.Http", "Npgsql", "Avatar.*"];

    /// <summary>Meters every service exports.</summary>
    public static readonly string[] Meters =
        ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Http.Connections", "System.Net.Http",
         "System.Runtime", "Npgsql", "Avatar.*"];

    /// <summary>Adds OTLP export of traces, metrics and logs when an endpoint is configured.</summary>
    public static TBuilder AddAvatarTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        if (string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            return builder;
        }
        // CreateDefault reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
        var resource = ResourceBuilder.CreateDefault();
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.SetResourceBuilder(resource);
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
            logging.AddOtlpExporter();
        });
        builder.Services.AddHostedService(_ => new TelemetryLifetime(
            Sdk.CreateTracerProviderBuilder().SetResourceBuilder(resource).AddSource(Sources).AddOtlpExporter().Build(),
            Sdk.CreateMeterProviderBuilder().SetResourceBuilder(resource).AddMeter(Meters).AddOtlpExporter().Build()));
        return builder;
    }

    private sealed class TelemetryLifetime(TracerProvider tracing, MeterProvider metrics) : IHostedService, IDisposable
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken)
        {
            tracing.ForceFlush(2000);
            metrics.ForceFlush(2000);
            return Task.CompletedTask;
        }

        public void Dispose()
        {
            tracing.Dispose();
            metrics.Dispose();
        }
    }
}
