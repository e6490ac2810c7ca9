using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Avatar.Hosting;

internal static class NativeResourceState
{
    /// <summary>Publishes the parent's state, start and stop times as the child's, for as long as the application runs.</summary>
    public static async Task MirrorParentAsync(IResource child, IResource parent, ResourceNotificationService notifications, IServiceProvider services)
    {
        var stopping = services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        try
        {
            await foreach (var update in notifications.WatchAsync(stopping).ConfigureAwait(false))
            {
                if (update.Resource != parent)
                {
                    continue;
                }
                var snapshot = update.Snapshot;
                await notifications.PublishUpdateAsync(child, s => s with
                {
                    State = snapshot.State,
                    StartTimeStamp = snapshot.StartTimeStamp,
                    StopTimeStamp = snapshot.StopTimeStamp,
                }).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }
}
