using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Avatar.Tests.Hosting;

/// <summary>The AppHost's own topology, built by Aspire's testing builder, with what tests need on top of it.</summary>
internal static class AvatarTesting
{
    /// <summary>
    /// The AppHost's builder with its data stores in a throwaway folder (deleted when the app stops) and durability
    /// traded for speed; ports are random, so tests run beside each other and beside <c>make run</c>.
    /// </summary>
    public static async Task<IDistributedApplicationTestingBuilder> CreateBuilderAsync(bool dashboard = false, params string[] args)
    {
        // /tmp, not the test output: as root, PostgreSQL runs as the postgres user, which must reach its data folder.
        var data = Path.Combine(Path.GetTempPath(), "avatar-tests", Guid.NewGuid().ToString("N")[..12]);
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Avatar_AppHost>(
            new DistributedApplicationTestingBuilderOptions { EnableDashboard = dashboard },
            [$"--Avatar:DataDirectory={data}", "--Avatar:Ephemeral=true", .. args]);
        builder.Services.AddHostedService(services => new DeleteOnStop(data, services.GetRequiredService<IHostApplicationLifetime>()));
        // Every process's console output would flood the test log; tests read what they need through LogsAsync. Health
        // checks failing while a test kills a process, and the test's own HTTP calls, are the tests' business, not the log's.
        builder.Services.AddLogging(logging => logging.AddFilter($"{builder.Environment.ApplicationName}.Resources", LogLevel.None)
            .AddFilter("Aspire.Hosting", LogLevel.Warning).AddFilter("System.Net.Http.HttpClient", LogLevel.Warning)
            .AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None));
        // The controller gives inference 0.8 s to accept a stream, enough on a node of its own. On these two cores, with
        // ten topologies starting at once, a busy inference missed it in three of four clean-clone runs, each time failing
        // another test (a fault's bystander, the caller limit, a Live Link turn) with UNAVAILABLE. Tests give it 3 s;
        // A2FOutageTests checks the shipped 0.8 s, alone.
        if (builder.Resources.OfType<ProjectResource>().FirstOrDefault(r => r.Name == "a2f-controller") is { } controller)
        {
            builder.CreateResourceBuilder(controller).WithEnvironment("A2F__InferenceAcceptTimeout", "00:00:03");
        }
        return builder;
    }

    /// <summary>
    /// An application of a test's own making: the AppHost's builder (Aspire's testing builder needs an AppHost to find
    /// DCP through) with every resource taken out.
    /// </summary>
    public static async Task<IDistributedApplicationTestingBuilder> CreateEmptyBuilderAsync(params string[] args)
    {
        var builder = await CreateBuilderAsync(args: args);
        builder.Resources.Clear();
        return builder;
    }

    /// <summary>
    /// Puts the Api's and chat's rate limits out of reach, for tests about something else (faults, fuzzing) that send
    /// thousands of requests from one address and a few keys. The limits themselves are tested in Security.
    /// </summary>
    public static IDistributedApplicationTestingBuilder WithRateLimitsOutOfReach(this IDistributedApplicationTestingBuilder builder)
    {
        foreach (var project in builder.Resources.OfType<ProjectResource>())
        {
            var limits = project.Name switch
            {
                "api" => new[] { "PerKey", "SignUp", "Tickets" },
                "chat" => ["Says"],
                _ => [],
            };
            var resource = builder.CreateResourceBuilder(project);
            foreach (var limit in limits)
            {
                resource.WithEnvironment($"RateLimits__{limit}__Permits", "1000000");
            }
            if (project.Name == "chat")
            {
                resource.WithEnvironment("RateLimits__SocketsPerUser", "1000");
            }
        }
        return builder;
    }

    /// <summary>The resources a user sees: not parameters, nor the hidden rebuilder Aspire adds beside each project.</summary>
    public static IEnumerable<string> VisibleResourceNames(this IDistributedApplicationTestingBuilder builder) =>
        builder.Resources.Where(r => r is not ParameterResource && !(r is ExecutableResource && r is IResourceWithParent)).Select(r => r.Name);

    public static IResource Resource(this IDistributedApplicationTestingBuilder builder, string name) =>
        builder.Resources.SingleOrDefault(r => r.Name == name) ?? throw new InvalidOperationException($"The AppHost declares no resource named '{name}'.");

    public static IResourceBuilder<ProjectResource> Project(this IDistributedApplicationTestingBuilder builder, string name) =>
        builder.CreateResourceBuilder((ProjectResource)builder.Resource(name));

    /// <summary>Starts the app and waits until every named resource is healthy.</summary>
    public static async Task<DistributedApplication> StartAsync(this IDistributedApplicationTestingBuilder builder, TimeSpan timeout, params string[] healthy)
    {
        var app = await builder.BuildAsync();
        try
        {
            using var deadline = new CancellationTokenSource(timeout);
            await app.StartAsync(deadline.Token).WaitAsync(deadline.Token);
            foreach (var name in healthy)
            {
                await app.WaitForEveryReplicaHealthyAsync(name, deadline.Token);
            }
            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Waits until every replica of a resource is running and healthy. Aspire's own wait ends at the first replica that is,
    /// and a test that calls each replica by its own address then meets one still starting (connection refused).
    /// </summary>
    public static async Task WaitForEveryReplicaHealthyAsync(this DistributedApplication app, string name, CancellationToken cancellationToken = default)
    {
        var resource = app.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == name);
        var replicas = resource.TryGetLastAnnotation<ReplicaAnnotation>(out var annotation) ? annotation.Replicas : 1;
        var healthy = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            await foreach (var update in app.ResourceNotifications.WatchAsync(cancellationToken))
            {
                if (update.Resource.Name != name)
                {
                    continue;
                }
                if (update.Snapshot.HealthStatus == HealthStatus.Healthy && update.Snapshot.State?.Text == KnownResourceStates.Running)
                {
                    healthy.Add(update.ResourceId);
                }
                else
                {
                    healthy.Remove(update.ResourceId);
                }
                if (healthy.Count >= replicas)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{healthy.Count} of the {replicas} replicas of {name} were healthy when the wait ran out.");
        }
    }

    /// <summary>
    /// Waits until <paramref name="address"/> accepts a TCP connection: a server a test started itself (redis-server),
    /// or a replica. Every replica reported running and healthy is not proof that each one's own port listens: one clean
    /// run, after <see cref="WaitForEveryReplicaHealthyAsync"/>, met a replica whose own port refused connections (why
    /// Aspire called it healthy was not found).
    /// </summary>
    public static async Task WaitUntilListeningAsync(Uri address, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            try
            {
                using var client = new System.Net.Sockets.TcpClient();
                await client.ConnectAsync(address.Host == "localhost" ? "127.0.0.1" : address.Host, address.Port, deadline.Token);
                return;
            }
            catch (System.Net.Sockets.SocketException)
            {
                await Task.Delay(25, deadline.Token);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                throw new TimeoutException($"{address} accepted no connection within {timeout}.");
            }
        }
    }

    /// <summary>The latest state of each replica of a resource, one per process.</summary>
    public static async Task<IReadOnlyList<ResourceEvent>> ReplicasAsync(this DistributedApplication app, string name)
    {
        // WatchAsync first replays the latest snapshot of every resource, then waits for changes: take the replay.
        var latest = new Dictionary<string, ResourceEvent>();
        using var quiet = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        try
        {
            await foreach (var update in app.ResourceNotifications.WatchAsync(quiet.Token))
            {
                if (update.Resource.Name == name)
                {
                    latest[update.ResourceId] = update;
                }
                quiet.CancelAfter(TimeSpan.FromMilliseconds(100));
            }
        }
        catch (OperationCanceledException)
        {
        }
        return [.. latest.Values.OrderBy(e => e.ResourceId, StringComparer.Ordinal)];
    }

    /// <summary>The operating system's process id of each running replica.</summary>
    public static async Task<IReadOnlyList<int>> ProcessIdsAsync(this DistributedApplication app, string name) =>
        [.. (await app.ReplicasAsync(name))
            .Where(r => r.Snapshot.State?.Text == KnownResourceStates.Running)
            .Select(r => r.Snapshot.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value)
            .Select(v => v is null ? 0 : Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture))
            .Where(pid => pid > 0)];

    /// <summary>An environment variable of each replica, as the process got it (a replica's own URL, say).</summary>
    public static async Task<IReadOnlyList<string>> ReplicaEnvironmentAsync(this DistributedApplication app, string name, string variable) =>
        [.. (await app.ReplicasAsync(name))
            .Select(r => r.Snapshot.EnvironmentVariables.FirstOrDefault(e => e.Name == variable)?.Value)
            .OfType<string>()];

    /// <summary>Everything one process (a replica's resource id) has written to its console so far.</summary>
    public static async Task<IReadOnlyList<string>> LogsAsync(this DistributedApplication app, string resourceId)
    {
        // The watch replays the backlog, then waits for more: take what arrives until it falls quiet.
        var lines = new List<string>();
        using var quiet = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await foreach (var batch in app.Services.GetRequiredService<ResourceLoggerService>().WatchAsync(resourceId).WithCancellation(quiet.Token))
            {
                lines.AddRange(batch.Select(l => l.Content));
                quiet.CancelAfter(TimeSpan.FromMilliseconds(300));
            }
        }
        catch (OperationCanceledException)
        {
        }
        return lines;
    }

    /// <summary>Stops every replica of the resource, as the dashboard's stop command does.</summary>
    public static Task StopResourceAsync(this DistributedApplication app, string name) =>
        RunCommandAsync(app, name, KnownResourceCommands.StopCommand);

    /// <summary>Starts every replica of a stopped resource, as the dashboard's start command does.</summary>
    public static Task StartResourceAsync(this DistributedApplication app, string name) =>
        RunCommandAsync(app, name, KnownResourceCommands.StartCommand);

    private static async Task RunCommandAsync(DistributedApplication app, string name, string command)
    {
        var model = app.Services.GetRequiredService<DistributedApplicationModel>();
        var resource = model.Resources.Single(r => r.Name == name);
        var result = await app.ResourceCommands.ExecuteCommandAsync(resource, command);
        Assert.True(result.Success, $"{command} {name}: {result.Message}");
    }

    /// <summary>Sends a signal to a process (kill -9 by default): a crash, as far as its supervisor can tell.</summary>
    public static void Kill(int pid, string signal = "KILL")
    {
        using var kill = System.Diagnostics.Process.Start("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    private sealed class DeleteOnStop(string directory, IHostApplicationLifetime lifetime) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            // Stopped, not stopping: the data stores are gone by then.
            lifetime.ApplicationStopped.Register(() =>
            {
                try
                {
                    Directory.Delete(directory, recursive: true);
                }
                catch (IOException)
                {
                }
            });
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
