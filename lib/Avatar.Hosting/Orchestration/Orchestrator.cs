using System.Net;
using System.Net.Sockets;
using Avatar.Hosting.ApplicationModel;

namespace Avatar.Hosting.Orchestration;

/// <summary>Allocates ports, starts every resource (each waits for what it waits for) and stops them in order.</summary>
internal sealed class Orchestrator
{
    private readonly IReadOnlyList<Resource> _resources;
    private readonly OrchestratorContext _context;
    private readonly Dictionary<string, ResourceRunner> _runners = new(StringComparer.OrdinalIgnoreCase);

    public Orchestrator(IReadOnlyList<Resource> resources, OrchestratorContext context)
    {
        _resources = resources;
        _context = context;
        var awaitedForCompletion = resources.SelectMany(r => r.AnnotationsOf<WaitAnnotation>())
            .Where(w => w.Type == WaitType.Completion).Select(w => w.Target).ToHashSet();
        foreach (var resource in resources)
        {
            ResourceRunner? runner = resource switch
            {
                PostgresServerResource postgres => new PostgresRunner(postgres, context),
                PostgresDatabaseResource database => new PostgresDatabaseRunner(database, context),
                RedisResource redis => new RedisRunner(redis, context),
                IProcessResource => new ProjectRunner(resource, context) { IsAwaitedForCompletion = awaitedForCompletion.Contains(resource) },
                _ => null,
            };
            if (runner is not null)
            {
                _runners[resource.Name] = runner;
            }
        }
    }

    public void Start()
    {
        _context.Processes.StopLeftovers();
        AllocatePorts();
        foreach (var runner in _runners.Values)
        {
            PublishNotStarted(runner.Resource);
        }
        foreach (var runner in _runners.Values)
        {
            runner.Start();
        }
    }

    private void PublishNotStarted(Resource resource) => _context.Notifications.Publish(new ResourceSnapshot(resource.Name, resource.TypeName,
        KnownResourceStates.NotStarted, false,
        [.. resource.AnnotationsOf<EndpointAnnotation>().Select(e => e.Url.ToString())], []));

    public ResourceRunner Runner(string name) =>
        _runners.TryGetValue(name, out var runner) ? runner : throw new KeyNotFoundException($"No resource named '{name}'.");

    /// <summary>Services first (they hold connections), then the databases and caches they used.</summary>
    public async Task StopAsync()
    {
        await Task.WhenAll(_runners.Values.Where(r => !r.IsInfrastructure).Select(r => r.StopAsync())).ConfigureAwait(false);
        await Task.WhenAll(_runners.Values.Where(r => r.IsInfrastructure).Select(r => r.StopAsync())).ConfigureAwait(false);
    }

    private void AllocatePorts()
    {
        foreach (var resource in _resources)
        {
            var replicas = resource.AnnotationsOf<ReplicaAnnotation>().LastOrDefault()?.Replicas ?? 1;
            foreach (var endpoint in resource.AnnotationsOf<EndpointAnnotation>())
            {
                var stable = endpoint.Port is { } declared && !_context.Options.RandomizePorts ? Claim(declared, resource) : FreePort();
                endpoint.AllocatedPort = stable;
                endpoint.ReplicaPorts = replicas == 1 ? [stable] : [.. Enumerable.Range(0, replicas).Select(_ => FreePort())];
            }
        }
    }

    private static int Claim(int port, Resource resource)
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
        }
        catch (SocketException)
        {
            throw new InvalidOperationException(
                $"Port {port} of {resource} is already in use on 127.0.0.1. Is another Avatar topology running? Stop it, or free the port.");
        }
        return port;
    }

    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
