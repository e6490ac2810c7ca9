using System.Runtime.InteropServices;
using Avatar.Hosting.ApplicationModel;
using Avatar.Hosting.Dashboard;
using Avatar.Hosting.Orchestration;

namespace Avatar.Hosting;

/// <summary>A built distributed application: runs every declared resource locally until stopped.</summary>
public sealed class DistributedApplication : IAsyncDisposable
{
    private readonly DistributedApplicationBuilder _builder;
    private readonly Orchestrator _orchestrator;
    private readonly OrchestratorContext _context;
    private int _started;
    private int _stopped;

    internal DistributedApplication(DistributedApplicationBuilder builder)
    {
        _builder = builder;
        Directory.CreateDirectory(builder.Options.StateDirectory!);
        SecretStore.Resolve(builder.Resources.OfType<ParameterResource>(), builder.Configuration, builder.Options.StateDirectory!);
        ConsoleLogs = new ConsoleLogs(TimeProvider.System, echo: builder.Options.EchoConsoleOutput);
        _context = new OrchestratorContext(builder.Options, ResourceNotifications, ConsoleLogs, TimeProvider.System);
        _orchestrator = new Orchestrator(builder.Resources, _context);
    }

    /// <summary>Starts a builder for the AppHost's Program.cs, as <c>DistributedApplication.CreateBuilder(args)</c> does in Aspire.</summary>
    public static DistributedApplicationBuilder CreateBuilder(string[] args) => new(args);

    /// <summary>Resource states, and waiting for them.</summary>
    public ResourceNotificationService ResourceNotifications { get; } = new();

    /// <summary>Console output of every resource.</summary>
    public ConsoleLogs ConsoleLogs { get; }

    /// <summary>The declared resources.</summary>
    public IReadOnlyList<Resource> Resources => _builder.Resources;

    /// <summary>The dashboard, once started (null when <see cref="DistributedApplicationOptions.DashboardEnabled"/> is off).</summary>
    public DashboardServer? Dashboard { get; private set; }

    /// <summary>Starts the dashboard, allocates ports and starts every resource; returns without waiting for them to be healthy.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            if (_builder.Options.DashboardEnabled)
            {
                // Before the resources start: their environment carries the receiver's address.
                var dashboard = new DashboardServer(this, _builder.Options);
                await dashboard.StartAsync(cancellationToken).ConfigureAwait(false);
                Dashboard = dashboard;
                if (_builder.Options.OtlpEndpoint is null)
                {
                    _builder.Options.OtlpEndpoint = dashboard.OtlpGrpcUrl.ToString().TrimEnd('/');
                    _builder.Options.OtlpProtocol = "grpc";
                }
            }
            _orchestrator.Start();
        }
    }

    /// <summary>Stops everything it started: services first, then data stores; each gets a grace period, then is killed.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_started == 1 && Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            await _orchestrator.StopAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Runs until Ctrl+C or SIGTERM, then stops everything.</summary>
    public void Run() => RunAsync().GetAwaiter().GetResult();

    /// <summary>Runs until Ctrl+C, SIGTERM or <paramref name="cancellationToken"/>, then stops everything.</summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        if (_builder.Configuration["publisher"] is { } publisher)
        {
            Publishing.Publisher.Publish(publisher, _builder.Configuration["output-path"], Resources, _builder.Configuration);
            return;
        }
        using var shutdown = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        await StartAsync(cancellationToken).ConfigureAwait(false);
        if (Dashboard is not null)
        {
            Console.WriteLine($"Dashboard: {Dashboard.LoginUrl}");
        }
        _ = ReportWhenHealthyAsync(shutdown.Token);
        try
        {
            await Task.Delay(Timeout.Infinite, shutdown.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        Console.WriteLine("Stopping...");
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        Console.WriteLine("Stopped.");

        void OnSignal(PosixSignalContext context)
        {
            // Handle it ourselves: the default would end the process before the children are stopped.
            context.Cancel = true;
            shutdown.Cancel();
        }
    }

    private async Task ReportWhenHealthyAsync(CancellationToken cancellationToken)
    {
        var services = Resources.Where(r => r is IProcessResource or PostgresServerResource or PostgresDatabaseResource or RedisResource).ToList();
        try
        {
            foreach (var resource in services)
            {
                await ResourceNotifications.WaitForResourceAsync(resource.Name,
                    s => s.Healthy || s.State == KnownResourceStates.Finished, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            return;
        }
        Console.WriteLine();
        Console.WriteLine("Avatar is running. Resources:");
        foreach (var snapshot in ResourceNotifications.Current.OrderBy(s => Resources.ToList().FindIndex(r => r.Name == s.Name)))
        {
            var replicas = snapshot.Replicas.Count > 1 ? $" ({snapshot.Replicas.Count} replicas: {string.Join(", ", snapshot.Replicas.Select(r => r.Port))})" : "";
            Console.WriteLine($"  {snapshot.Name,-16} {snapshot.Type,-16} {snapshot.State,-10} {string.Join(" ", snapshot.Endpoints)}{replicas}");
        }
        Console.WriteLine("Press Ctrl+C to stop.");
    }

    /// <summary>The stable URL of a resource's endpoint (the proxy's, when it has replicas).</summary>
    public Uri GetEndpoint(string resourceName, string? endpointName = null) => Endpoint(resourceName, endpointName).Url;

    /// <summary>The URL of each replica of a resource's endpoint.</summary>
    public IReadOnlyList<Uri> GetReplicaEndpoints(string resourceName, string? endpointName = null)
    {
        var endpoint = Endpoint(resourceName, endpointName);
        return [.. endpoint.ReplicaPorts.Select(p => new Uri($"{endpoint.Scheme}://127.0.0.1:{p}"))];
    }

    /// <summary>An HttpClient whose base address is the resource's stable endpoint.</summary>
    public HttpClient CreateHttpClient(string resourceName, string? endpointName = null) =>
        new() { BaseAddress = GetEndpoint(resourceName, endpointName) };

    /// <summary>The connection string a referencing service would receive.</summary>
    public ValueTask<string?> GetConnectionStringAsync(string resourceName, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Resource(resourceName) is IResourceWithConnectionString r ? r.GetConnectionString() : null);

    /// <summary>Stops one resource (all its replicas), as the dashboard's stop action does.</summary>
    public Task StopResourceAsync(string resourceName, CancellationToken cancellationToken = default) =>
        _orchestrator.Runner(resourceName).StopAsync();

    /// <summary>Starts a stopped resource again on the same ports.</summary>
    public Task StartResourceAsync(string resourceName, CancellationToken cancellationToken = default)
    {
        _orchestrator.Runner(resourceName).Start();
        return Task.CompletedTask;
    }

    private Resource Resource(string name) =>
        Resources.FirstOrDefault(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new KeyNotFoundException($"No resource named '{name}'.");

    private EndpointAnnotation Endpoint(string resourceName, string? endpointName)
    {
        var endpoints = Resource(resourceName).AnnotationsOf<EndpointAnnotation>().ToList();
        return (endpointName is null ? endpoints.FirstOrDefault() : endpoints.FirstOrDefault(e => e.Name == endpointName))
            ?? throw new KeyNotFoundException($"Resource '{resourceName}' has no endpoint{(endpointName is null ? "" : $" named '{endpointName}'")}.");
    }

    /// <summary>Stops everything; the testing builder's temporary state is deleted.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        if (Dashboard is not null)
        {
            await Dashboard.DisposeAsync().ConfigureAwait(false);
        }
        _context.HealthClient.Dispose();
        if (_builder.Options.DeleteStateOnDispose && Directory.Exists(_builder.Options.StateDirectory))
        {
            await DeleteWithRetriesAsync(_builder.Options.StateDirectory!).ConfigureAwait(false);
        }
    }

    private static async Task DeleteWithRetriesAsync(string directory)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                Directory.Delete(directory, recursive: true);
                return;
            }
            catch (IOException) when (attempt < 5)
            {
                await Task.Delay(200).ConfigureAwait(false);
            }
        }
    }
}
