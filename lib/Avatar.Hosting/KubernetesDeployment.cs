using System.Text.Json.Nodes;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;

namespace Avatar.Hosting;

/// <summary>
/// What Kubernetes needs and Aspire's manifest does not carry: replicas, GPUs, probes, requests and limits, which
/// projects run once (Jobs), stateful storage. It travels the way Aspire provides for deployment-specific data: a
/// <see cref="DeploymentTargetAnnotation"/> on each resource, whose target writes a <c>deployment</c> object into the
/// resource's manifest entry (so projects become <c>project.v1</c> and containers <c>container.v1</c>). The Kubernetes
/// output (eng/Avatar.Kubernetes) reads it beside Aspire's own fields; tools that do not know it ignore it.
/// </summary>
public static class KubernetesDeploymentExtensions
{
    /// <summary>The <c>type</c> of every deployment object written here.</summary>
    public const string DeploymentType = "avatar.kubernetes.v0";

    /// <summary>
    /// When publishing, gives every project and every PostgreSQL and Redis container a deployment object (see
    /// <see cref="KubernetesDeploymentExtensions"/>). It is described from the finished model, after Program.cs has
    /// declared everything (replicas, waits, probes): <see cref="BeforeStartEvent"/> comes after that and before the
    /// manifest is written.
    /// </summary>
    public static IDistributedApplicationBuilder AddKubernetesDeploymentInfo(this IDistributedApplicationBuilder builder)
    {
        if (!builder.ExecutionContext.IsPublishMode)
        {
            return builder;
        }
        builder.Eventing.Subscribe<BeforeStartEvent>((@event, _) =>
        {
            foreach (var resource in @event.Model.Resources.ToList())
            {
                if (Describe(resource, @event.Model) is { } deployment)
                {
                    resource.Annotations.Add(new DeploymentTargetAnnotation(new KubernetesDeploymentTarget(resource.Name, deployment)));
                }
            }
            return Task.CompletedTask;
        });
        return builder;
    }

    private static JsonObject? Describe(IResource resource, DistributedApplicationModel model) => resource switch
    {
        ProjectResource project => Project(project, model),
        PostgresServerResource postgres => Postgres(postgres),
        RedisResource redis => Redis(redis),
        // Parameters and connection strings fold into the resources that use them.
        _ => null,
    };

    private static JsonObject Project(ProjectResource project, DistributedApplicationModel model)
    {
        // What something waits on to complete runs once, to the end: a Job, not a Deployment that restarts it forever.
        var runsOnce = model.Resources.Any(r => r.Annotations.OfType<WaitAnnotation>()
            .Any(w => w.Resource == project && w.WaitType == WaitType.WaitForCompletion));
        var gpus = project.Annotations.OfType<GpuRequirementAnnotation>().LastOrDefault()?.Count ?? 0;
        var replicas = project.Annotations.OfType<ReplicaAnnotation>().LastOrDefault()?.Replicas ?? 1;

        var deployment = new JsonObject { ["type"] = DeploymentType, ["workload"] = runsOnce ? "Job" : "Deployment" };
        if (runsOnce)
        {
            deployment["resources"] = Resources("100m", "128Mi", "500m", "256Mi");
            return deployment;
        }
        deployment["replicas"] = replicas;
        if (gpus > 0)
        {
            // Inference holds its model and CUDA buffers: whole cores and gigabytes beside the GPU.
            deployment["gpus"] = gpus;
            deployment["resources"] = Resources("2", "4Gi", "4", "8Gi");
        }
        else
        {
            deployment["resources"] = Resources("250m", "256Mi", "1", "512Mi");
            // Stateless services scale on CPU (the Avadot seed's 2 to 4 at 70%); a GPU service is one pod per GPU,
            // scaled by hand.
            var minimum = Math.Max(2, replicas);
            deployment["autoscaling"] = new JsonObject
            {
                ["minReplicas"] = minimum,
                ["maxReplicas"] = Math.Max(4, minimum),
                ["cpuUtilization"] = 70,
            };
        }
        foreach (var probe in project.Annotations.OfType<ProbeAnnotation>())
        {
            deployment[probe.Type switch
            {
                ProbeType.Readiness => "readinessProbe",
                ProbeType.Liveness => "livenessProbe",
                _ => "startupProbe",
            }] = Probe(probe);
        }
        var publicUrls = new JsonObject();
        foreach (var url in project.Annotations.OfType<PublicUrlAnnotation>())
        {
            publicUrls[url.Name] = new JsonObject { ["resource"] = url.Endpoint.Resource.Name, ["endpoint"] = url.Endpoint.EndpointName };
        }
        if (publicUrls.Count > 0)
        {
            deployment["publicUrls"] = publicUrls;
        }
        return deployment;
    }

    private static JsonObject Postgres(PostgresServerResource postgres)
    {
        var deployment = DataStore(postgres.PrimaryEndpoint, "10Gi", Resources("250m", "512Mi", "1", "1Gi"),
            "pg_isready -U \"$POSTGRES_USER\" -h 127.0.0.1");
        // The image creates no database of ours; its init folder runs this once, on an empty data volume.
        deployment["files"] = new JsonArray(new JsonObject
        {
            ["name"] = "init",
            ["mountPath"] = "/docker-entrypoint-initdb.d",
            ["files"] = new JsonObject
            {
                ["create-databases.sql"] = string.Concat(postgres.Databases.Values.Select(d => $"CREATE DATABASE \"{d}\";\n")),
            },
        });
        return deployment;
    }

    // REDISCLI_AUTH keeps the password off the probe's command line.
    private static JsonObject Redis(RedisResource redis) => DataStore(redis.PrimaryEndpoint, "2Gi", Resources("100m", "128Mi", "500m", "512Mi"),
        "REDISCLI_AUTH=\"$REDIS_PASSWORD\" redis-cli ping | grep -q PONG");

    /// <summary>One pod with its data on a volume claim: ready when the store answers, alive while its port accepts.</summary>
    private static JsonObject DataStore(EndpointReference endpoint, string storage, JsonObject resources, string readinessScript) => new()
    {
        ["type"] = DeploymentType,
        ["workload"] = "StatefulSet",
        ["replicas"] = 1,
        ["storage"] = storage,
        ["resources"] = resources,
        ["readinessProbe"] = Probe(new JsonObject { ["exec"] = new JsonObject { ["command"] = new JsonArray("sh", "-c", readinessScript) } }),
        ["livenessProbe"] = Probe(new JsonObject { ["tcpSocket"] = new JsonObject { ["port"] = TargetPort(endpoint) } }),
        ["podSecurityContext"] = ImageUser(),
    };

    /// <summary>
    /// The postgres and redis images' own user (uid and gid 999): they run as it from the start instead of as root,
    /// and the data volume is made writable to its group.
    /// </summary>
    private static JsonObject ImageUser() => new()
    {
        ["runAsNonRoot"] = true,
        ["runAsUser"] = 999,
        ["runAsGroup"] = 999,
        ["fsGroup"] = 999,
    };

    private static JsonObject Resources(string cpuRequest, string memoryRequest, string cpuLimit, string memoryLimit) => new()
    {
        ["requests"] = new JsonObject { ["cpu"] = cpuRequest, ["memory"] = memoryRequest },
        ["limits"] = new JsonObject { ["cpu"] = cpuLimit, ["memory"] = memoryLimit },
    };

    private static JsonObject Probe(ProbeAnnotation probe)
    {
        var handler = probe switch
        {
            EndpointProbeAnnotation http => new JsonObject
            {
                // By name: the container's ports are named after the endpoints.
                ["httpGet"] = new JsonObject { ["path"] = http.Path, ["port"] = http.EndpointReference.EndpointName },
            },
            GrpcProbeAnnotation grpc => new JsonObject
            {
                // Kubelet's gRPC probe takes a port number only.
                ["grpc"] = new JsonObject { ["port"] = TargetPort(grpc.EndpointReference) },
            },
            _ => throw new NotSupportedException($"{probe.GetType().Name} has no Kubernetes probe."),
        };
        handler["initialDelaySeconds"] = probe.InitialDelaySeconds;
        handler["periodSeconds"] = probe.PeriodSeconds;
        handler["timeoutSeconds"] = probe.TimeoutSeconds;
        handler["failureThreshold"] = probe.FailureThreshold;
        if (probe.SuccessThreshold > 1)
        {
            handler["successThreshold"] = probe.SuccessThreshold;
        }
        return handler;
    }

    private static JsonObject Probe(JsonObject handler)
    {
        handler["initialDelaySeconds"] = 5;
        handler["periodSeconds"] = 10;
        handler["timeoutSeconds"] = 3;
        handler["failureThreshold"] = 3;
        return handler;
    }

    private static int TargetPort(EndpointReference endpoint) =>
        endpoint.Resource.Annotations.OfType<EndpointAnnotation>().Single(e => e.Name == endpoint.EndpointName).TargetPort
        ?? throw new DistributedApplicationException($"The endpoint '{endpoint.EndpointName}' of '{endpoint.Resource.Name}' needs a target port to be probed in Kubernetes.");

    /// <summary>Not part of the model: only the <c>deployment</c> object a resource's manifest entry points to.</summary>
    private sealed class KubernetesDeploymentTarget : Resource
    {
        public KubernetesDeploymentTarget(string resourceName, JsonObject deployment) : base($"{resourceName}-kubernetes")
        {
            Annotations.Add(new ManifestPublishingCallbackAnnotation(context =>
            {
                // Aspire has opened the "deployment" object; its properties are written into it.
                foreach (var (name, value) in deployment)
                {
                    context.Writer.WritePropertyName(name);
                    if (value is null)
                    {
                        context.Writer.WriteNullValue();
                    }
                    else
                    {
                        value.WriteTo(context.Writer);
                    }
                }
            }));
        }
    }
}
