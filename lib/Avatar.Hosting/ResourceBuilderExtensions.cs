using Avatar.Hosting.ApplicationModel;

namespace Avatar.Hosting;

/// <summary>The <c>With*</c> and <c>Wait*</c> verbs shared by every resource, named as in Aspire.</summary>
public static class ResourceBuilderExtensions
{
    /// <summary>Gives this resource the other's connection string as <c>ConnectionStrings__{name}</c>.</summary>
    public static IResourceBuilder<T> WithReference<T>(this IResourceBuilder<T> builder, IResourceBuilder<IResourceWithConnectionString> source)
        where T : Resource
        => builder.WithAnnotation(new ReferenceAnnotation((Resource)source.Resource));

    /// <summary>Gives this resource the other project's endpoints as <c>services__{name}__{endpoint}__{i}</c>, one per replica.</summary>
    public static IResourceBuilder<T> WithReference<T>(this IResourceBuilder<T> builder, IResourceBuilder<IProcessResource> source)
        where T : Resource
        => builder.WithAnnotation(new ReferenceAnnotation((Resource)source.Resource));

    /// <summary>Starts this resource only once <paramref name="dependency"/> is running and healthy.</summary>
    public static IResourceBuilder<T> WaitFor<T>(this IResourceBuilder<T> builder, IResourceBuilder<Resource> dependency)
        where T : Resource
        => builder.WithAnnotation(new WaitAnnotation(dependency.Resource, WaitType.Healthy));

    /// <summary>Starts this resource only once <paramref name="dependency"/> has exited with code 0 (migrations, seeding).</summary>
    public static IResourceBuilder<T> WaitForCompletion<T>(this IResourceBuilder<T> builder, IResourceBuilder<Resource> dependency)
        where T : Resource
        => builder.WithAnnotation(new WaitAnnotation(dependency.Resource, WaitType.Completion));

    /// <summary>Runs <paramref name="replicas"/> instances, each on its own port, behind the resource's stable port.</summary>
    public static IResourceBuilder<T> WithReplicas<T>(this IResourceBuilder<T> builder, int replicas) where T : Resource, IProcessResource
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1);
        builder.Resource.Annotations.RemoveAll(a => a is ReplicaAnnotation);
        return builder.WithAnnotation(new ReplicaAnnotation(replicas));
    }

    /// <summary>Declares an HTTP endpoint. <paramref name="port"/> is the stable port (null: any free port).</summary>
    public static IResourceBuilder<T> WithHttpEndpoint<T>(this IResourceBuilder<T> builder, int? port = null, string name = "http", string? env = null,
        int? targetPort = null)
        where T : Resource
        => builder.WithEndpoint(port, "http", name, env, targetPort: targetPort);

    /// <summary>
    /// Declares an endpoint of any scheme; gRPC endpoints use scheme "http" with <paramref name="http2Only"/>.
    /// <paramref name="targetPort"/> is the port inside a container when published (local runs listen on <paramref name="port"/>).
    /// </summary>
    public static IResourceBuilder<T> WithEndpoint<T>(this IResourceBuilder<T> builder, int? port = null, string scheme = "tcp", string? name = null,
        string? env = null, bool http2Only = false, int? targetPort = null)
        where T : Resource
    {
        name ??= scheme;
        if (builder.Resource.AnnotationsOf<EndpointAnnotation>().Any(e => e.Name == name))
        {
            throw new InvalidOperationException($"{builder.Resource} already has an endpoint named '{name}'.");
        }
        return builder.WithAnnotation(new EndpointAnnotation(name, scheme, port, env) { IsHttp2 = http2Only, TargetPort = targetPort });
    }

    /// <summary>Changes an endpoint declared before, as Aspire's callback overload does: <c>.WithEndpoint("grpc", e => e.IsExternal = true)</c>.</summary>
    public static IResourceBuilder<T> WithEndpoint<T>(this IResourceBuilder<T> builder, string endpointName, Action<EndpointAnnotation> callback)
        where T : Resource
    {
        ArgumentNullException.ThrowIfNull(callback);
        var endpoint = builder.Resource.AnnotationsOf<EndpointAnnotation>().SingleOrDefault(e => e.Name == endpointName)
            ?? throw new InvalidOperationException($"{builder.Resource} has no endpoint named '{endpointName}'.");
        callback(endpoint);
        return builder;
    }

    /// <summary>Marks the resource's HTTP endpoints as reachable from outside the cluster when published.</summary>
    public static IResourceBuilder<T> WithExternalHttpEndpoints<T>(this IResourceBuilder<T> builder) where T : Resource
    {
        foreach (var endpoint in builder.Resource.AnnotationsOf<EndpointAnnotation>().Where(e => e.Scheme is "http" or "https"))
        {
            endpoint.IsExternal = true;
        }
        return builder;
    }

    /// <summary>Sets an environment variable of the process.</summary>
    public static IResourceBuilder<T> WithEnvironment<T>(this IResourceBuilder<T> builder, string name, string value) where T : Resource
        => builder.WithAnnotation(new EnvironmentAnnotation(name, () => value));

    /// <summary>Sets an environment variable from a parameter (resolved at start; secrets stay out of the model's text).</summary>
    public static IResourceBuilder<T> WithEnvironment<T>(this IResourceBuilder<T> builder, string name, IResourceBuilder<ParameterResource> parameter)
        where T : Resource
        => builder.WithAnnotation(new EnvironmentAnnotation(name, () => parameter.Resource.Value) { Parameter = parameter.Resource });

    /// <summary>Sets an environment variable to an endpoint's URL (its stable, proxied one locally; what it is where published).</summary>
    public static IResourceBuilder<T> WithEnvironment<T>(this IResourceBuilder<T> builder, string name, EndpointReference endpoint)
        where T : Resource
        => builder.WithAnnotation(new EnvironmentAnnotation(name, () => endpoint.Url.ToString().TrimEnd('/')) { Endpoint = endpoint });

    /// <summary>A reference to one of the resource's endpoints, for <see cref="WithEnvironment{T}(IResourceBuilder{T}, string, EndpointReference)"/>.</summary>
    public static EndpointReference GetEndpoint<T>(this IResourceBuilder<T> builder, string name) where T : Resource
        => new(builder.Resource, name);

    /// <summary>Sets the process's command-line arguments.</summary>
    public static IResourceBuilder<T> WithArgs<T>(this IResourceBuilder<T> builder, params string[] args) where T : Resource, IProcessResource
        => builder.WithAnnotation(new ArgumentsAnnotation(args));

    /// <summary>The resource is healthy when GET <paramref name="path"/> answers 2xx on every replica.</summary>
    public static IResourceBuilder<T> WithHttpHealthCheck<T>(this IResourceBuilder<T> builder, string path = "/health", string endpointName = "http")
        where T : Resource, IProcessResource
        => builder.WithAnnotation(new HttpHealthCheckAnnotation(path, endpointName));

    /// <summary>The resource needs <paramref name="count"/> GPUs when deployed; locally it runs on what the machine has.</summary>
    public static IResourceBuilder<T> WithGpu<T>(this IResourceBuilder<T> builder, int count = 1) where T : Resource, IProcessResource
        => builder.WithAnnotation(new GpuAnnotation(count));
}
