using System.Globalization;
using Avatar.Hosting.ApplicationModel;

namespace Avatar.Hosting.Publishing;

/// <summary>What the application model means inside a cluster: names, ports, images and each process's environment.</summary>
internal sealed class KubernetesModel(IReadOnlyList<Resource> resources, IReadOnlyDictionary<string, string> parameters,
    KubernetesOptions options)
{
    public KubernetesOptions Options { get; } = options;

    public IReadOnlyList<Resource> Resources { get; } = resources;

    public IReadOnlyDictionary<string, string> Parameters { get; } = parameters;

    /// <summary>The image the SDK's container support builds for the project (see Directory.Build.props).</summary>
    public static string Image(ProjectResource project)
        => $"{Path.GetFileNameWithoutExtension(project.Project.ProjectPath).ToLowerInvariant().Replace('.', '-')}:latest";

    public static int TargetPort(EndpointAnnotation endpoint)
        => endpoint.TargetPort ?? (endpoint.Scheme is "http" or "https" ? DefaultHttpPort : endpoint.Port
            ?? throw new InvalidOperationException($"Endpoint '{endpoint.Name}' needs a target port to be published."));

    private const int DefaultHttpPort = 8080;

    /// <summary>A project something waits on to complete runs once: a Job, not a Deployment.</summary>
    public bool IsJob(Resource resource)
        => Resources.Any(r => r.AnnotationsOf<WaitAnnotation>().Any(w => w.Target == resource && w.Type == WaitType.Completion));

    /// <summary>Scaled on CPU: services that keep no state of their own; not the GPU service (one pod per GPU, scaled by hand).</summary>
    public bool IsAutoscaled(ProjectResource project) => !IsJob(project) && !project.AnnotationsOf<GpuAnnotation>().Any();

    /// <summary>The process's environment, split into what may go to a ConfigMap and what must go to a Secret.</summary>
    public (List<KeyValuePair<string, string>> Config, List<KeyValuePair<string, string>> Secrets) Environment(ProjectResource project)
    {
        var config = new List<KeyValuePair<string, string>>
        {
            new("OTEL_SERVICE_NAME", project.Name),
            new("OTEL_DOTNET_EXPERIMENTAL_OTLP_EMIT_EXCEPTION_LOG_ATTRIBUTES", "true"),
            new("OTEL_DOTNET_EXPERIMENTAL_OTLP_EMIT_EVENT_LOG_ATTRIBUTES", "true"),
            new("OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY", "in_memory"),
            new("ASPNETCORE_FORWARDEDHEADERS_ENABLED", "true"),
        };
        var secrets = new List<KeyValuePair<string, string>>();

        var endpoints = project.AnnotationsOf<EndpointAnnotation>().ToList();
        if (endpoints.Any(e => e.IsHttp2))
        {
            // As in local runs: HTTP/2-only endpoints need Kestrel's endpoint configuration, not HTTP_PORTS.
            foreach (var endpoint in endpoints)
            {
                config.Add(new($"Kestrel__Endpoints__{endpoint.Name}__Url", $"http://+:{TargetPort(endpoint)}"));
                config.Add(new($"Kestrel__Endpoints__{endpoint.Name}__Protocols", endpoint.IsHttp2 ? "Http2" : "Http1"));
            }
        }
        else if (endpoints.Count > 0)
        {
            config.Add(new("HTTP_PORTS", string.Join(';', endpoints.Select(e => TargetPort(e).ToString(CultureInfo.InvariantCulture)))));
        }

        foreach (var reference in project.AnnotationsOf<ReferenceAnnotation>())
        {
            switch (reference.Target)
            {
                case IResourceWithConnectionString target:
                    // Connection strings carry passwords.
                    secrets.Add(new($"ConnectionStrings__{target.Name}", ConnectionString(reference.Target)));
                    break;
                case IProcessResource:
                    // One entry per endpoint: the Service balances across the pods, as the local proxy does across replicas.
                    foreach (var endpoint in reference.Target.AnnotationsOf<EndpointAnnotation>())
                    {
                        config.Add(new($"services__{reference.Target.Name}__{endpoint.Name}__0",
                            $"{endpoint.Scheme}://{reference.Target.Name}:{TargetPort(endpoint)}"));
                    }
                    break;
            }
        }
        foreach (var variable in project.AnnotationsOf<EnvironmentAnnotation>())
        {
            if (variable.Parameter is { Secret: true } parameter)
            {
                secrets.Add(new(variable.Name, Parameters[parameter.Name]));
            }
            else if (variable.Endpoint is { } endpoint)
            {
                config.Add(new(variable.Name, Url(endpoint)));
            }
            else
            {
                config.Add(new(variable.Name, variable.Parameter is { } plain ? Parameters[plain.Name] : variable.Value()));
            }
        }
        return (config, secrets);
    }

    /// <summary>An external endpoint's public address (the prod ingress host); an internal one's Service address.</summary>
    public string Url(EndpointReference endpoint) => endpoint.Annotation.IsExternal
        ? $"https://{Host(endpoint.Resource, endpoint.Annotation)}"
        : $"{endpoint.Annotation.Scheme}://{endpoint.Resource.Name}:{TargetPort(endpoint.Annotation)}";

    /// <summary>The ingress host of an external endpoint: {resource}.{Domain}, or {resource}-{endpoint}.{Domain} beside a first one.</summary>
    public string Host(Resource resource, EndpointAnnotation endpoint)
        => endpoint.Name is "http" or "grpc" ? $"{resource.Name}.{Options.Domain}" : $"{resource.Name}-{endpoint.Name}.{Options.Domain}";

    private string ConnectionString(Resource target) => target switch
    {
        PostgresServerResource server => $"Host={server.Name};Port=5432;Username={server.UserName};Password={Parameters[server.Password.Name]}",
        PostgresDatabaseResource database => $"{ConnectionString(database.Server)};Database={database.DatabaseName}",
        RedisResource redis => $"{redis.Name}:6379,password={Parameters[redis.Password.Name]}",
        _ => throw new NotSupportedException($"{target} has no connection string inside a cluster."),
    };
}
