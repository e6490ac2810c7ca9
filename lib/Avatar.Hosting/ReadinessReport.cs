using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Avatar.Hosting;

/// <summary>Says, once, when the whole application is ready to use.</summary>
public static partial class ReadinessReportExtensions
{
    /// <summary>
    /// In run mode, logs "Avatar is running" once every resource is healthy (one-shot resources that others wait for,
    /// such as migrations: once they have finished), with the time it took since the AppHost started. Aspire's own
    /// "Distributed application started" comes as soon as the orchestrator has taken the resources, long before that.
    /// </summary>
    public static IDistributedApplicationBuilder ReportWhenReady(this IDistributedApplicationBuilder builder)
    {
        if (builder.ExecutionContext.IsRunMode)
        {
            var started = Stopwatch.StartNew();
            builder.Services.AddHostedService(services => new ReadinessReport(services, started));
        }
        return builder;
    }

    private sealed partial class ReadinessReport(IServiceProvider services, Stopwatch started) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            var model = services.GetRequiredService<DistributedApplicationModel>();
            var notifications = services.GetRequiredService<ResourceNotificationService>();
            var logger = services.GetRequiredService<ILogger<DistributedApplication>>();
            var oneShot = model.Resources.SelectMany(r => r.Annotations.OfType<WaitAnnotation>())
                .Where(w => w.WaitType == WaitType.WaitForCompletion).Select(w => w.Resource).ToHashSet();
            var waits = model.Resources
                .Where(r => r is ProjectResource or ExecutableResource or ContainerResource && !(r is IResourceWithParent && r is ExecutableResource))
                .Where(r => !r.Name.Equals("aspire-dashboard", StringComparison.Ordinal))
                .Select(r => oneShot.Contains(r)
                    ? notifications.WaitForResourceAsync(r.Name, KnownResourceStates.Finished, stoppingToken)
                    : notifications.WaitForResourceHealthyAsync(r.Name, stoppingToken));
            try
            {
                await Task.WhenAll(waits).ConfigureAwait(false);
                LogReady(logger, started.Elapsed.TotalSeconds);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
            }
        }

        [LoggerMessage(Level = LogLevel.Information, Message = "Avatar is running: every resource is healthy, {Seconds:0.0} s after the AppHost started.")]
        private static partial void LogReady(ILogger logger, double seconds);
    }
}
