using Avatar.Hosting.ApplicationModel;

namespace Avatar.Hosting.Orchestration;

/// <summary>Everything runners share within one run of the application.</summary>
internal sealed class OrchestratorContext(DistributedApplicationOptions options, ResourceNotificationService notifications, ConsoleLogs logs,
    TimeProvider time)
{
    public ProcessRegistry Processes { get; } = new(options.StateDirectory!, logs);

    public DistributedApplicationOptions Options { get; } = options;
    public ResourceNotificationService Notifications { get; } = notifications;
    public ConsoleLogs Logs { get; } = logs;
    public TimeProvider Time { get; } = time;
    public TimeSpan StopGrace { get; } = TimeSpan.FromSeconds(5);

    public HttpClient HealthClient { get; } = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromSeconds(30) })
    {
        Timeout = TimeSpan.FromSeconds(2),
    };

    public string StateDirectory => Options.StateDirectory!;
}

/// <summary>Starts, watches and stops one resource, publishing its state as it changes.</summary>
internal abstract class ResourceRunner(Resource resource, OrchestratorContext context)
{
    private CancellationTokenSource? _running;
    private Task _work = Task.CompletedTask;

    public Resource Resource { get; } = resource;

    protected OrchestratorContext Context { get; } = context;

    /// <summary>True for resources that hold data others depend on: stopped last, after the services.</summary>
    public virtual bool IsInfrastructure => false;

    public void Start()
    {
        if (!_work.IsCompleted)
        {
            return;
        }
        _running = new CancellationTokenSource();
        _work = RunGuardedAsync(_running.Token);
    }

    public async Task StopAsync()
    {
        if (_running is not null)
        {
            await _running.CancelAsync().ConfigureAwait(false);
        }
        await StopProcessesAsync().ConfigureAwait(false);
        await _work.ConfigureAwait(false);
        Publish(KnownResourceStates.Stopped);
    }

    private async Task RunGuardedAsync(CancellationToken cancellationToken)
    {
        try
        {
            await WaitForDependenciesAsync(cancellationToken).ConfigureAwait(false);
            await RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            Context.Logs.Add(Resource.Name, Resource.Name, $"failed: {ex.Message}", isError: true);
            Publish(KnownResourceStates.FailedToStart);
        }
    }

    private async Task WaitForDependenciesAsync(CancellationToken cancellationToken)
    {
        var waits = Resource.AnnotationsOf<WaitAnnotation>().ToList();
        if (waits.Count == 0)
        {
            return;
        }
        Publish(KnownResourceStates.Waiting);
        foreach (var wait in waits)
        {
            await (wait.Type switch
            {
                WaitType.Completion => Context.Notifications.WaitForResourceAsync(wait.Target.Name, s => s.State == KnownResourceStates.Finished, cancellationToken),
                _ => Context.Notifications.WaitForResourceHealthyAsync(wait.Target.Name, cancellationToken),
            }).ConfigureAwait(false);
        }
    }

    /// <summary>Brings the resource up and keeps it watched until cancelled.</summary>
    protected abstract Task RunAsync(CancellationToken cancellationToken);

    protected virtual Task StopProcessesAsync() => Task.CompletedTask;

    /// <summary>Publishes a snapshot with a resource-level state (no processes, or before they exist).</summary>
    protected void Publish(string state, bool healthy = false) =>
        Context.Notifications.Publish(new ResourceSnapshot(Resource.Name, Resource.TypeName, state, healthy, Endpoints(), []));

    protected IReadOnlyList<string> Endpoints() =>
        [.. Resource.AnnotationsOf<EndpointAnnotation>().Where(e => e.AllocatedPort is not null).Select(e => e.Url.ToString())];
}

/// <summary>A resource made of one or more processes (replicas), each health-probed.</summary>
internal abstract class ProcessRunner(Resource resource, OrchestratorContext context) : ResourceRunner(resource, context)
{
    private readonly List<ManagedProcess> _processes = [];
    private TcpProxy? _proxy;

    protected IReadOnlyList<ManagedProcess> Processes => _processes;

    protected int ReplicaCount => Resource.AnnotationsOf<ReplicaAnnotation>().LastOrDefault()?.Replicas ?? 1;

    protected virtual RestartPolicy RestartPolicy => RestartPolicy.Always;

    /// <summary>Work before the first process starts (initdb, checks). Runs on every start.</summary>
    protected virtual Task PrepareAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    protected abstract ProcessSpec CreateSpec(int replica);

    /// <summary>Whether replica <paramref name="replica"/> is healthy; by default, running is healthy.</summary>
    protected virtual Task<bool> ProbeAsync(int replica, CancellationToken cancellationToken) => Task.FromResult(true);

    /// <summary>Called after each probe round with the resource's overall health (databases get created here).</summary>
    protected virtual Task OnProbedAsync(bool healthy, CancellationToken cancellationToken) => Task.CompletedTask;

    protected override async Task RunAsync(CancellationToken cancellationToken)
    {
        Publish(KnownResourceStates.Starting);
        await PrepareAsync(cancellationToken).ConfigureAwait(false);
        if (_processes.Count == 0)
        {
            var count = ReplicaCount;
            for (var i = 0; i < count; i++)
            {
                var replica = i;
                var name = count == 1 ? Resource.Name : $"{Resource.Name}-{i}";
                _processes.Add(new ManagedProcess(Resource.Name, name, () => CreateSpec(replica), RestartPolicy, Context.Logs, PublishProcesses, Context.Time, Context.Processes));
            }
        }
        StartProxy();
        foreach (var process in _processes)
        {
            process.Start();
        }
        await ProbeLoopAsync(cancellationToken).ConfigureAwait(false);
    }

    private void StartProxy()
    {
        var endpoint = Resource.AnnotationsOf<EndpointAnnotation>().FirstOrDefault();
        if (_proxy is not null || endpoint is null || endpoint.ReplicaPorts.Count < 2)
        {
            return;
        }
        _proxy = new TcpProxy(endpoint.AllocatedPort!.Value,
            () => [.. endpoint.ReplicaPorts.Select((port, i) => (port, _processes[i].Healthy))]);
        _proxy.Start();
    }

    private async Task ProbeLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var allHealthy = true;
            for (var i = 0; i < _processes.Count; i++)
            {
                var process = _processes[i];
                var healthy = process.State == KnownResourceStates.Running && await SafeProbeAsync(i, cancellationToken).ConfigureAwait(false);
                if (healthy != process.Healthy)
                {
                    process.Healthy = healthy;
                    PublishProcesses();
                }
                allHealthy &= healthy || process.State == KnownResourceStates.Finished;
            }
            await OnProbedAsync(allHealthy, cancellationToken).ConfigureAwait(false);
            if (_processes.All(p => p.State == KnownResourceStates.Finished))
            {
                return;
            }
            // Probe often until healthy so dependants start promptly, then settle to a cheaper pace.
            await Task.Delay(allHealthy ? TimeSpan.FromSeconds(1) : TimeSpan.FromMilliseconds(100), Context.Time, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<bool> SafeProbeAsync(int replica, CancellationToken cancellationToken)
    {
        try
        {
            return await ProbeAsync(replica, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    protected override async Task StopProcessesAsync()
    {
        if (_proxy is not null)
        {
            await _proxy.DisposeAsync().ConfigureAwait(false);
            _proxy = null;
        }
        await Task.WhenAll(_processes.Select(p => p.StopAsync(Context.StopGrace))).ConfigureAwait(false);
    }

    protected void PublishProcesses()
    {
        var endpoint = Resource.AnnotationsOf<EndpointAnnotation>().FirstOrDefault();
        var replicas = _processes.Select((p, i) => new ReplicaSnapshot(p.Name, p.State, p.Pid,
            endpoint is { ReplicaPorts.Count: > 0 } ? endpoint.ReplicaPorts[i] : null, p.Restarts, p.ExitCode, p.Healthy)).ToList();
        var state = replicas switch
        {
            _ when replicas.All(r => r.State == KnownResourceStates.Finished) => KnownResourceStates.Finished,
            _ when replicas.Any(r => r.State == KnownResourceStates.Running) => KnownResourceStates.Running,
            _ when replicas.Any(r => r.State == KnownResourceStates.Restarting) => KnownResourceStates.Restarting,
            _ => replicas[0].State,
        };
        var healthy = replicas.All(r => r.State == KnownResourceStates.Running && r.Healthy);
        Context.Notifications.Publish(new ResourceSnapshot(Resource.Name, Resource.TypeName, state, healthy, Endpoints(), replicas));
    }
}
