using System.Reflection;
using Avatar.Hosting.ApplicationModel;

namespace Avatar.Hosting.Testing;

/// <summary>
/// Starts an AppHost's topology from a test, as Aspire.Hosting.Testing does: runs the AppHost's own Program.cs up to
/// <c>Build()</c>, hands its builder to the test (which may trim it), and builds it with free ports and a throwaway
/// state directory, so tests run beside a developer's topology and leave nothing behind.
/// </summary>
public static class DistributedApplicationTestingBuilder
{
    /// <summary>An empty builder with test options (free ports, throwaway state), for topologies declared in the test itself.</summary>
    public static DistributedApplicationTestingBuilderHandle Create(params string[] args)
    {
        var options = TestOptions();
        DistributedApplicationBuilder.SetTestingContext(new(options, options.StateDirectory!, _ => { }));
        try
        {
            return new DistributedApplicationTestingBuilderHandle(new DistributedApplicationBuilder(args));
        }
        finally
        {
            DistributedApplicationBuilder.SetTestingContext(null);
        }
    }

    private static DistributedApplicationOptions TestOptions()
    {
        var state = Path.Combine(Path.GetTempPath(), "avatar-tests", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(state);
        // Servers that run as another user (postgres) must be able to reach their data through these folders.
        File.SetUnixFileMode(Path.GetDirectoryName(state)!, (UnixFileMode)0x1ED); // rwxr-xr-x
        File.SetUnixFileMode(state, (UnixFileMode)0x1ED); // rwxr-xr-x
        return new DistributedApplicationOptions
        {
            StateDirectory = state,
            RandomizePorts = true,
            Ephemeral = true,
            DeleteStateOnDispose = true,
            EchoConsoleOutput = false,
            // A test that wants the dashboard turns it on; it then listens on free ports.
            DashboardEnabled = false,
            DashboardPort = 0,
            DashboardOtlpHttpPort = 0,
            DashboardOtlpGrpcPort = 0,
        };
    }

    /// <summary>Runs the AppHost <typeparamref name="TEntryPoint"/>'s Program.cs up to Build() and returns its builder.</summary>
    /// <typeparam name="TEntryPoint">The generated <c>Projects.&lt;AppHost&gt;</c> type of a referenced AppHost project.</typeparam>
    public static async Task<DistributedApplicationTestingBuilderHandle> CreateAsync<TEntryPoint>(string[]? args = null,
        CancellationToken cancellationToken = default)
        where TEntryPoint : IProjectMetadata, new()
    {
        var appHost = new TEntryPoint();
        var assembly = Assembly.Load(Path.GetFileNameWithoutExtension(appHost.AssemblyPath));
        var entryPoint = assembly.EntryPoint ?? throw new InvalidOperationException($"{assembly.GetName().Name} has no entry point.");
        var options = TestOptions();

        var captured = new TaskCompletionSource<DistributedApplicationBuilder>(TaskCreationOptions.RunContinuationsAsynchronously);
        var context = new DistributedApplicationBuilder.TestingContext(options, Path.GetDirectoryName(appHost.ProjectPath)!, b => captured.TrySetResult(b));
        var run = Task.Run(() =>
        {
            DistributedApplicationBuilder.SetTestingContext(context);
            try
            {
                entryPoint.Invoke(null, entryPoint.GetParameters().Length == 0 ? [] : [args ?? []]);
                captured.TrySetException(new InvalidOperationException($"{assembly.GetName().Name}'s Program.cs returned without calling Build()."));
            }
            catch (TargetInvocationException ex) when (ex.InnerException is BuilderInterceptedException)
            {
            }
            catch (TargetInvocationException ex)
            {
                captured.TrySetException(ex.InnerException ?? ex);
            }
        }, cancellationToken);
        var builder = await captured.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        await run.ConfigureAwait(false);
        return new DistributedApplicationTestingBuilderHandle(builder);
    }
}

/// <summary>The AppHost's builder, captured for a test.</summary>
public sealed class DistributedApplicationTestingBuilderHandle(DistributedApplicationBuilder builder)
{
    /// <summary>The captured builder; tests may add, change or remove resources.</summary>
    public DistributedApplicationBuilder Builder { get; } = builder;

    /// <summary>The declared resources.</summary>
    public List<Resource> Resources => Builder.Resources;

    /// <summary>Keeps only the named resources and everything they reference or wait for (transitively); removes the rest.</summary>
    public DistributedApplicationTestingBuilderHandle KeepOnly(params string[] names)
    {
        var keep = new HashSet<Resource>();
        var pending = new Stack<Resource>(names.Select(Find));
        while (pending.TryPop(out var resource))
        {
            if (!keep.Add(resource))
            {
                continue;
            }
            foreach (var dependency in Dependencies(resource))
            {
                pending.Push(dependency);
            }
        }
        Resources.RemoveAll(r => !keep.Contains(r));
        foreach (var resource in keep)
        {
            // A kept resource may still reference a removed one it does not depend on for start-up.
            resource.Annotations.RemoveAll(a => a is ReferenceAnnotation reference && !keep.Contains(reference.Target));
        }
        return this;
    }

    /// <summary>Builds the application; it is started with <see cref="DistributedApplication.StartAsync"/>.</summary>
    public Task<DistributedApplication> BuildAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult(Builder.BuildCore());

    private Resource Find(string name) =>
        Resources.FirstOrDefault(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new KeyNotFoundException($"No resource named '{name}'.");

    private static IEnumerable<Resource> Dependencies(Resource resource)
    {
        foreach (var annotation in resource.Annotations)
        {
            switch (annotation)
            {
                case ReferenceAnnotation reference: yield return reference.Target; break;
                case WaitAnnotation wait: yield return wait.Target; break;
            }
        }
        switch (resource)
        {
            case IResourceWithParent child: yield return child.Parent; break;
            case PostgresServerResource server: yield return server.Password; break;
            case RedisResource redis: yield return redis.Password; break;
        }
    }
}
