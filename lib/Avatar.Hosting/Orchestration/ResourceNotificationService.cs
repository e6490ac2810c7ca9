namespace Avatar.Hosting.Orchestration;

/// <summary>Lifecycle states a resource goes through, as the Aspire dashboard names them.</summary>
public static class KnownResourceStates
{
    /// <summary>Declared, not started yet.</summary>
    public const string NotStarted = "NotStarted";
    /// <summary>Waiting for the resources it waits for.</summary>
    public const string Waiting = "Waiting";
    /// <summary>Process started, not yet known to be up.</summary>
    public const string Starting = "Starting";
    /// <summary>Up.</summary>
    public const string Running = "Running";
    /// <summary>Exited unexpectedly; will be started again after a back-off.</summary>
    public const string Restarting = "Restarting";
    /// <summary>Ran to completion with exit code 0.</summary>
    public const string Finished = "Finished";
    /// <summary>Could not be started (missing binary, port in use...).</summary>
    public const string FailedToStart = "FailedToStart";
    /// <summary>Stopped on request.</summary>
    public const string Stopped = "Stopped";
}

/// <summary>One process of a resource (one replica).</summary>
/// <param name="Name">Replica name: the resource name, with <c>-{index}</c> when there are replicas.</param>
/// <param name="State">One of <see cref="KnownResourceStates"/>.</param>
/// <param name="Pid">Process id while running.</param>
/// <param name="Port">The replica's own port for the resource's first endpoint.</param>
/// <param name="Restarts">How many times it was restarted after an unexpected exit.</param>
/// <param name="ExitCode">The last exit code.</param>
/// <param name="Healthy">Whether its last health probe passed.</param>
public sealed record ReplicaSnapshot(string Name, string State, int? Pid, int? Port, int Restarts, int? ExitCode, bool Healthy);

/// <summary>What is known about a resource right now.</summary>
/// <param name="Name">Resource name.</param>
/// <param name="Type">Resource type name.</param>
/// <param name="State">One of <see cref="KnownResourceStates"/>, aggregated over replicas.</param>
/// <param name="Healthy">True when running and every replica's health check passes.</param>
/// <param name="Endpoints">Stable endpoint URLs.</param>
/// <param name="Replicas">Per-process details.</param>
public sealed record ResourceSnapshot(string Name, string Type, string State, bool Healthy, IReadOnlyList<string> Endpoints,
    IReadOnlyList<ReplicaSnapshot> Replicas)
{
    /// <summary>Restarts over all replicas.</summary>
    public int Restarts => Replicas.Sum(r => r.Restarts);
}

/// <summary>Publishes resource state changes and lets callers wait for a state, as Aspire's service of the same name does.</summary>
public sealed class ResourceNotificationService
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ResourceSnapshot> _snapshots = new(StringComparer.OrdinalIgnoreCase);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The latest snapshot of every resource.</summary>
    public IReadOnlyList<ResourceSnapshot> Current
    {
        get { lock (_gate) { return [.. _snapshots.Values]; } }
    }

    /// <summary>The latest snapshot of one resource.</summary>
    public ResourceSnapshot Get(string name)
    {
        lock (_gate)
        {
            return _snapshots.TryGetValue(name, out var s) ? s : throw new KeyNotFoundException($"No resource named '{name}'.");
        }
    }

    internal void Publish(ResourceSnapshot snapshot)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            _snapshots[snapshot.Name] = snapshot;
            changed = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.TrySetResult();
    }

    /// <summary>Waits until the resource's snapshot satisfies <paramref name="predicate"/>.</summary>
    public async Task<ResourceSnapshot> WaitForResourceAsync(string name, Func<ResourceSnapshot, bool> predicate, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (!_snapshots.TryGetValue(name, out var snapshot))
                {
                    throw new KeyNotFoundException($"No resource named '{name}'.");
                }
                if (predicate(snapshot))
                {
                    return snapshot;
                }
                changed = _changed.Task;
            }
            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Waits until the resource reaches <paramref name="state"/>.</summary>
    public Task<ResourceSnapshot> WaitForResourceAsync(string name, string state, CancellationToken cancellationToken = default)
        => WaitForResourceAsync(name, s => s.State == state, cancellationToken);

    /// <summary>Waits until the resource is running and every replica reports healthy.</summary>
    public Task<ResourceSnapshot> WaitForResourceHealthyAsync(string name, CancellationToken cancellationToken = default)
        => WaitForResourceAsync(name, s => s.Healthy, cancellationToken);

    /// <summary>Every change from now on, starting with the current snapshots.</summary>
    public async IAsyncEnumerable<ResourceSnapshot> WatchAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var seen = new Dictionary<string, ResourceSnapshot>(StringComparer.OrdinalIgnoreCase);
        while (!cancellationToken.IsCancellationRequested)
        {
            Task changed;
            List<ResourceSnapshot> fresh = [];
            lock (_gate)
            {
                foreach (var snapshot in _snapshots.Values)
                {
                    if (!seen.TryGetValue(snapshot.Name, out var old) || !ReferenceEquals(old, snapshot))
                    {
                        seen[snapshot.Name] = snapshot;
                        fresh.Add(snapshot);
                    }
                }
                changed = _changed.Task;
            }
            foreach (var snapshot in fresh)
            {
                yield return snapshot;
            }
            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
