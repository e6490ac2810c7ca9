using System.Reflection;
using Avatar.Hosting.ApplicationModel;
using Microsoft.Extensions.Configuration;

namespace Avatar.Hosting;

/// <summary>Options that decide how a built application runs; the testing builder changes them.</summary>
public sealed class DistributedApplicationOptions
{
    /// <summary>Command-line arguments of the AppHost.</summary>
    public string[] Args { get; set; } = [];

    /// <summary>Where persistent local state lives (database files, generated secrets). Default: <c>.avatar/</c> beside the AppHost project.</summary>
    public string? StateDirectory { get; set; }

    /// <summary>Give every endpoint a free port instead of its declared one (tests run beside a developer's topology).</summary>
    public bool RandomizePorts { get; set; }

    /// <summary>Trade durability for speed (no fsync in PostgreSQL, no Redis persistence): for throwaway test topologies.</summary>
    public bool Ephemeral { get; set; }

    /// <summary>Delete <see cref="StateDirectory"/> when the application is disposed (throwaway test topologies).</summary>
    public bool DeleteStateOnDispose { get; set; }

    /// <summary>Where services send OTLP telemetry (OTEL_EXPORTER_OTLP_ENDPOINT); null: they export nothing.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>The OTLP protocol services use: grpc or http/protobuf.</summary>
    public string OtlpProtocol { get; set; } = "http/protobuf";

    /// <summary>Write resource console output to the AppHost's console, prefixed by the resource name.</summary>
    public bool EchoConsoleOutput { get; set; } = true;

    /// <summary>Serve the dashboard and its OTLP receiver (the testing builder turns it off unless a test asks for it).</summary>
    public bool DashboardEnabled { get; set; } = true;

    /// <summary>The dashboard's port on 127.0.0.1 (0: any free port).</summary>
    public int DashboardPort { get; set; } = 18888;

    /// <summary>The dashboard's OTLP/HTTP receiver port on 127.0.0.1 (0: any free port).</summary>
    public int DashboardOtlpHttpPort { get; set; } = 18890;

    /// <summary>The dashboard's OTLP/gRPC receiver port on 127.0.0.1 (0: any free port); services export here.</summary>
    public int DashboardOtlpGrpcPort { get; set; } = 18889;

    /// <summary>Spans the dashboard keeps; the oldest go first.</summary>
    public int DashboardMaxSpans { get; set; } = 10_000;

    /// <summary>Log records the dashboard keeps; the oldest go first.</summary>
    public int DashboardMaxLogRecords { get; set; } = 10_000;

    /// <summary>Points the dashboard keeps per metric series; the oldest go first.</summary>
    public int DashboardMaxMetricPointsPerSeries { get; set; } = 1_000;
}

/// <summary>Declares the resources of a distributed application; <see cref="Build"/> turns them into a runnable app.</summary>
public sealed class DistributedApplicationBuilder
{
    private static readonly AsyncLocal<TestingContext?> s_testing = new();

    internal DistributedApplicationBuilder(string[] args)
    {
        var testing = s_testing.Value;
        Options = testing?.Options ?? new DistributedApplicationOptions();
        Options.Args = [.. args, .. Options.Args];
        Configuration = new ConfigurationBuilder()
            .AddEnvironmentVariables()
            .AddCommandLine(Options.Args)
            .Build();
        AppHostDirectory = testing?.AppHostDirectory ?? FindAppHostDirectory();
        if (testing is null)
        {
            // Knobs for running a second topology beside the usual one (end-to-end tests of the AppHost process).
            Options.StateDirectory = Configuration["Avatar:StateDirectory"];
            Options.RandomizePorts = Configuration.GetValue("Avatar:RandomizePorts", false);
            Options.OtlpEndpoint = Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
            Options.DashboardEnabled = Configuration.GetValue("Avatar:Dashboard", true);
            if (Options.RandomizePorts)
            {
                Options.DashboardPort = 0;
                Options.DashboardOtlpHttpPort = 0;
                Options.DashboardOtlpGrpcPort = 0;
            }
        }
        Options.StateDirectory ??= Path.Combine(AppHostDirectory, ".avatar");
    }

    /// <summary>How the application will run.</summary>
    public DistributedApplicationOptions Options { get; }

    /// <summary>Configuration: environment variables and command-line arguments (<c>Parameters:*</c> among them).</summary>
    public IConfiguration Configuration { get; }

    /// <summary>The directory of the AppHost project; relative paths are resolved against it.</summary>
    public string AppHostDirectory { get; }

    /// <summary>Every declared resource, in declaration order.</summary>
    public List<Resource> Resources { get; } = [];

    /// <summary>Adds a resource; names must be unique (case-insensitive, since they become DNS names).</summary>
    public IResourceBuilder<T> AddResource<T>(T resource) where T : Resource
    {
        if (Resources.Any(r => string.Equals(r.Name, resource.Name, StringComparison.OrdinalIgnoreCase)))
        {
            throw new InvalidOperationException($"A resource named '{resource.Name}' already exists.");
        }
        Resources.Add(resource);
        return new ResourceBuilder<T>(this, resource);
    }

    /// <summary>A builder for an existing resource, to configure it further (used by the testing builder).</summary>
    public IResourceBuilder<T> CreateResourceBuilder<T>(T resource) where T : Resource => new ResourceBuilder<T>(this, resource);

    /// <summary>Builds the application. Under the testing builder this hands the builder to the test instead.</summary>
    public DistributedApplication Build()
    {
        if (s_testing.Value is { } testing)
        {
            testing.OnBuild(this);
            throw new BuilderInterceptedException();
        }
        return BuildCore();
    }

    internal DistributedApplication BuildCore() => new(this);

    /// <summary>While set (on this async flow), CreateBuilder uses these options and Build hands the builder over.</summary>
    internal static void SetTestingContext(TestingContext? context) => s_testing.Value = context;

    internal sealed record TestingContext(DistributedApplicationOptions Options, string AppHostDirectory, Action<DistributedApplicationBuilder> OnBuild);

    private static string FindAppHostDirectory()
    {
        var entry = Assembly.GetEntryAssembly();
        var fromMetadata = entry?.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "AvatarProjectDirectory")?.Value;
        return fromMetadata is not null && Directory.Exists(fromMetadata) ? fromMetadata : AppContext.BaseDirectory;
    }
}

/// <summary>Unwinds the AppHost's entry point once the testing builder has captured its builder.</summary>
internal sealed class BuilderInterceptedException() : Exception("The testing builder captured the application builder.");
