using System.Collections.Concurrent;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Avatar.Hosting;

/// <summary>Brings crashed processes back, as Kubernetes does for a pod's containers.</summary>
public static partial class CrashRestartExtensions
{
    private static readonly TimeSpan s_firstDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_longestDelay = TimeSpan.FromSeconds(30);

    /// <summary>
    /// In run mode, starts again any project or executable replica that exits on its own with a non-zero code (a crash,
    /// a kill -9), after 1 s, then 2, 4... up to 30 s while it keeps crashing within 30 s of starting. A resource stopped
    /// on purpose (the dashboard, the CLI, a test) is left alone: it goes through Stopping, a crash goes straight from
    /// Running to Finished. Aspire's orchestrator restarts nothing by itself.
    /// </summary>
    public static IDistributedApplicationBuilder RestartCrashedProcesses(this IDistributedApplicationBuilder builder)
    {
        if (builder.ExecutionContext.IsRunMode)
        {
            builder.Services.AddHostedService(services => new CrashRestarter(services));
        }
        return builder;
    }

    private sealed partial class CrashRestarter(IServiceProvider services) : BackgroundService
    {
        private readonly ConcurrentDictionary<string, (int Crashes, DateTime? StartedAt)> _history = new();
        private readonly Dictionary<string, string?> _states = [];

        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            var notifications = services.GetRequiredService<ResourceNotificationService>();
            var logger = services.GetRequiredService<ILogger<DistributedApplication>>();
            try
            {
                await foreach (var update in notifications.WatchAsync(stoppingToken).ConfigureAwait(false))
                {
                    var snapshot = update.Snapshot;
                    if (update.Resource is not (ProjectResource or ExecutableResource) || update.Resource is IResourceWithParent)
                    {
                        continue;
                    }
                    // A resource's snapshot changes many times in one state (health, URLs, times): act on entering it.
                    var previous = _states.GetValueOrDefault(update.ResourceId);
                    _states[update.ResourceId] = snapshot.State?.Text;
                    if (previous == snapshot.State?.Text)
                    {
                        continue;
                    }
                    if (snapshot.State?.Text == KnownResourceStates.Running)
                    {
                        _history.AddOrUpdate(update.ResourceId, _ => (0, snapshot.StartTimeStamp), (_, h) => (h.Crashes, snapshot.StartTimeStamp));
                    }
                    // Straight from Running: a stop on purpose passes through Stopping first (and may end with any code).
                    else if (previous == KnownResourceStates.Running && snapshot.State?.Text == KnownResourceStates.Finished
                        && snapshot.ExitCode is { } code and not 0)
                    {
                        var delay = NextDelay(update.ResourceId, snapshot.StopTimeStamp ?? DateTime.UtcNow);
                        LogCrashed(logger, update.ResourceId, code, delay.TotalSeconds);
                        _ = RestartAsync(update.ResourceId, delay, logger, stoppingToken);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
            }
        }

        private TimeSpan NextDelay(string resourceId, DateTime stoppedAt)
        {
            var history = _history.AddOrUpdate(resourceId, _ => (1, null), (_, h) =>
                // Up long enough to count as healthy: the next crash starts the back-off again.
                (h.StartedAt is { } started && stoppedAt - started >= s_longestDelay ? 1 : h.Crashes + 1, h.StartedAt));
            var delay = s_firstDelay * Math.Pow(2, Math.Min(history.Crashes - 1, 10));
            return delay < s_longestDelay ? delay : s_longestDelay;
        }

        private async Task RestartAsync(string resourceId, TimeSpan delay, ILogger logger, CancellationToken stoppingToken)
        {
            try
            {
                await Task.Delay(delay, stoppingToken).ConfigureAwait(false);
                var commands = services.GetRequiredService<ResourceCommandService>();
                var result = await commands.ExecuteCommandAsync(resourceId, KnownResourceCommands.StartCommand, stoppingToken).ConfigureAwait(false);
                if (!result.Success)
                {
                    LogRestartFailed(logger, resourceId, result.Message ?? "no reason given");
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
            }
        }

        [LoggerMessage(Level = LogLevel.Warning, Message = "{Resource} crashed (exit code {ExitCode}); starting it again in {Seconds} s")]
        private static partial void LogCrashed(ILogger logger, string resource, int exitCode, double seconds);

        [LoggerMessage(Level = LogLevel.Error, Message = "{Resource} could not be started again: {Reason}")]
        private static partial void LogRestartFailed(ILogger logger, string resource, string reason);
    }
}
