using Avatar.Hosting.ApplicationModel;

namespace Avatar.Hosting.Orchestration;

/// <summary>Runs a project or an executable: one process per replica, with Aspire's environment.</summary>
internal sealed class ProjectRunner(Resource resource, OrchestratorContext context) : ProcessRunner(resource, context)
{
    private readonly HttpHealthCheckAnnotation? _health = resource.AnnotationsOf<HttpHealthCheckAnnotation>().LastOrDefault();

    protected override RestartPolicy RestartPolicy => IsAwaitedForCompletion ? RestartPolicy.UntilSuccess : RestartPolicy.Always;

    /// <summary>Set by the orchestrator when some resource waits for this one's completion: a one-shot job.</summary>
    public bool IsAwaitedForCompletion { get; init; }

    protected override Task PrepareAsync(CancellationToken cancellationToken)
    {
        if (Resource is ProjectResource project && !File.Exists(project.Project.AssemblyPath))
        {
            throw new FileNotFoundException(
                $"{project.Project.AssemblyPath} does not exist: build the AppHost (it builds every service project) and run again.");
        }
        return Task.CompletedTask;
    }

    protected override ProcessSpec CreateSpec(int replica)
    {
        var environment = EnvironmentBuilder.Build(Resource, replica, Context.Options);
        var args = Resource.AnnotationsOf<ArgumentsAnnotation>().SelectMany(a => a.Arguments).ToList();
        return Resource switch
        {
            ProjectResource project => new ProcessSpec("dotnet", [project.Project.AssemblyPath, .. args],
                Path.GetDirectoryName(project.Project.ProjectPath)!, environment),
            ExecutableResource executable => new ProcessSpec(executable.Command, args, executable.WorkingDirectory, environment),
            _ => throw new InvalidOperationException($"{Resource} is not a process resource."),
        };
    }

    protected override async Task<bool> ProbeAsync(int replica, CancellationToken cancellationToken)
    {
        if (_health is null)
        {
            return true;
        }
        var endpoint = Resource.AnnotationsOf<EndpointAnnotation>().First(e => e.Name == _health.EndpointName);
        var url = new Uri($"{endpoint.Scheme}://127.0.0.1:{endpoint.ReplicaPorts[replica]}{_health.Path}");
        using var response = await Context.HealthClient.GetAsync(url, cancellationToken).ConfigureAwait(false);
        return response.IsSuccessStatusCode;
    }
}

/// <summary>The environment Aspire gives a process: connection strings, service endpoints, URLs, telemetry settings.</summary>
internal static class EnvironmentBuilder
{
    public static Dictionary<string, string> Build(Resource resource, int replica, DistributedApplicationOptions options)
    {
        var env = new Dictionary<string, string>
        {
            ["DOTNET_ENVIRONMENT"] = "Development",
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["OTEL_SERVICE_NAME"] = resource.Name,
            ["OTEL_RESOURCE_ATTRIBUTES"] = $"service.instance.id={resource.Name}-{replica}",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "1000",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "1000",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "1000",
            // Console output goes to a pipe: keep one event per line so the prefixing stays readable.
            ["Logging__Console__FormatterName"] = "simple",
            ["Logging__Console__FormatterOptions__SingleLine"] = "true",
        };
        if (options.OtlpEndpoint is { } otlp)
        {
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp;
            env["OTEL_EXPORTER_OTLP_PROTOCOL"] = options.OtlpProtocol;
        }

        var endpoints = resource.AnnotationsOf<EndpointAnnotation>().ToList();
        var urls = new List<string>();
        // ASPNETCORE_URLS cannot say "HTTP/2 only" (gRPC without TLS needs it): with such an endpoint, every endpoint
        // goes to Kestrel's configuration instead, which Kestrel then prefers over the URLs.
        var kestrelEndpoints = endpoints.Any(e => e.IsHttp2);
        foreach (var endpoint in endpoints)
        {
            var port = endpoint.ReplicaPorts[replica];
            if (endpoint.EnvironmentVariable is { } variable)
            {
                env[variable] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (resource is ProjectResource && endpoint.Scheme is "http" or "https")
            {
                var url = $"{endpoint.Scheme}://127.0.0.1:{port}";
                urls.Add(url);
                if (kestrelEndpoints)
                {
                    env[$"Kestrel__Endpoints__{endpoint.Name}__Url"] = url;
                    env[$"Kestrel__Endpoints__{endpoint.Name}__Protocols"] = endpoint.IsHttp2 ? "Http2" : "Http1";
                }
            }
        }
        if (urls.Count > 0 && !kestrelEndpoints)
        {
            env["ASPNETCORE_URLS"] = string.Join(';', urls);
        }

        foreach (var reference in resource.AnnotationsOf<ReferenceAnnotation>())
        {
            switch (reference.Target)
            {
                case IResourceWithConnectionString target:
                    env[$"ConnectionStrings__{target.Name}"] = target.GetConnectionString();
                    break;
                case IProcessResource:
                    foreach (var endpoint in reference.Target.AnnotationsOf<EndpointAnnotation>())
                    {
                        for (var i = 0; i < endpoint.ReplicaPorts.Count; i++)
                        {
                            env[$"services__{reference.Target.Name}__{endpoint.Name}__{i}"] = $"{endpoint.Scheme}://127.0.0.1:{endpoint.ReplicaPorts[i]}";
                        }
                    }
                    break;
            }
        }
        foreach (var variable in resource.AnnotationsOf<EnvironmentAnnotation>())
        {
            env[variable.Name] = variable.Value();
        }
        return env;
    }
}
