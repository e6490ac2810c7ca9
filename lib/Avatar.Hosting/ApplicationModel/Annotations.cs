namespace Avatar.Hosting.ApplicationModel;

/// <summary>A network endpoint a resource listens on.</summary>
/// <param name="Name">Endpoint name ("http", "grpc", "tcp"...), used in <c>services__{resource}__{name}__{i}</c>.</param>
/// <param name="Scheme">URI scheme: http, https or tcp.</param>
/// <param name="Port">The stable port clients use; null picks a free one at start.</param>
/// <param name="EnvironmentVariable">If set, the process learns its port from this variable instead of ASPNETCORE_URLS.</param>
public sealed record EndpointAnnotation(string Name, string Scheme, int? Port, string? EnvironmentVariable) : IResourceAnnotation
{
    /// <summary>Exposed outside the cluster when published (ingress); local runs always bind to 127.0.0.1.</summary>
    public bool IsExternal { get; set; }

    /// <summary>The port the process listens on inside a container when published; null: 8080 for HTTP, else <see cref="Port"/>.</summary>
    public int? TargetPort { get; init; }

    /// <summary>The HTTP/2-only protocol flag for gRPC endpoints (h2c).</summary>
    public bool IsHttp2 { get; init; }

    /// <summary>The port clients use in this run (the proxy's port when there are replicas); null before start.</summary>
    public int? AllocatedPort { get; internal set; }

    /// <summary>The port of each replica in this run; one entry (equal to <see cref="AllocatedPort"/>) without replicas.</summary>
    public IReadOnlyList<int> ReplicaPorts { get; internal set; } = [];

    /// <summary>The stable URL of the endpoint in this run, on the loopback address.</summary>
    public Uri Url => new($"{Scheme}://127.0.0.1:{AllocatedPort ?? throw new InvalidOperationException($"Endpoint '{Name}' has no port yet: the application has not started.")}");
}

/// <summary>An environment variable, computed when the process starts.</summary>
public sealed record EnvironmentAnnotation(string Name, Func<string> Value) : IResourceAnnotation
{
    /// <summary>The parameter the value comes from, if any: publishers put a secret one into a Secret, never a ConfigMap.</summary>
    public ParameterResource? Parameter { get; init; }

    /// <summary>The endpoint whose URL the value is, if any: publishers write the URL it has where they deploy.</summary>
    public EndpointReference? Endpoint { get; init; }
}

/// <summary>An endpoint of a resource, as <c>builder.GetEndpoint("http")</c> returns it (Aspire's EndpointReference).</summary>
public sealed class EndpointReference(Resource resource, string endpointName)
{
    /// <summary>The resource the endpoint belongs to.</summary>
    public Resource Resource { get; } = resource;

    /// <summary>The endpoint's name.</summary>
    public string EndpointName { get; } = endpointName;

    /// <summary>The endpoint's declaration.</summary>
    public EndpointAnnotation Annotation => Resource.AnnotationsOf<EndpointAnnotation>().SingleOrDefault(e => e.Name == EndpointName)
        ?? throw new InvalidOperationException($"{Resource} has no endpoint named '{EndpointName}'.");

    /// <summary>The stable URL of the endpoint in this run (the proxy's, when there are replicas).</summary>
    public Uri Url => Annotation.Url;
}

/// <summary>Command-line arguments for a process resource.</summary>
public sealed record ArgumentsAnnotation(IReadOnlyList<string> Arguments) : IResourceAnnotation;

/// <summary>This resource is given the connection string or service endpoints of another.</summary>
public sealed record ReferenceAnnotation(Resource Target) : IResourceAnnotation;

/// <summary>How a resource waits for another before starting.</summary>
public enum WaitType
{
    /// <summary>Until the other resource is running and healthy.</summary>
    Healthy,

    /// <summary>Until the other resource has run to completion with exit code 0.</summary>
    Completion,
}

/// <summary>Do not start this resource before <paramref name="Target"/> is ready.</summary>
public sealed record WaitAnnotation(Resource Target, WaitType Type) : IResourceAnnotation;

/// <summary>Run this many instances of the process, each with its own port, behind one stable port.</summary>
public sealed record ReplicaAnnotation(int Replicas) : IResourceAnnotation;

/// <summary>Health is an HTTP GET of <paramref name="Path"/> on the endpoint answering 2xx.</summary>
public sealed record HttpHealthCheckAnnotation(string Path, string EndpointName) : IResourceAnnotation;

/// <summary>The resource needs a GPU when deployed (drives Kubernetes scheduling); local runs use what is there.</summary>
public sealed record GpuAnnotation(int Count) : IResourceAnnotation;
