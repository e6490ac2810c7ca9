using System.Globalization;
using Avatar.Hosting.ApplicationModel;
using Microsoft.Extensions.Configuration;

namespace Avatar.Hosting.Publishing;

/// <summary>
/// Writes Kubernetes manifests in Aspirate's kustomize layout: a folder per resource with its workload, service and a
/// kustomization whose generators make the ConfigMap and Secret; a top-level kustomization; overlays for a local
/// cluster, production on EKS, and KEDA autoscaling of the worker.
/// </summary>
/// <remarks>
/// Secret values go only to <c>*.secret.env</c> files beside the manifests (git-ignored). Generated passwords are kept
/// in <c>parameters.secret.env</c> and reused by the next publish, so publishing again changes no password.
/// </remarks>
public static class KubernetesPublisher
{
    /// <summary>The file that keeps every secret parameter's value between publishes.</summary>
    public const string ParametersFile = "parameters.secret.env";

    /// <summary>Writes the manifests of <paramref name="resources"/> under <paramref name="outputPath"/>.</summary>
    /// <param name="resources">The application model.</param>
    /// <param name="outputPath">The folder; existing files are overwritten, generated passwords in it are kept.</param>
    /// <param name="configuration">Supplies <c>Parameters:{name}</c> values and the <c>Kubernetes</c> section.</param>
    /// <returns>The parameters that had no value.</returns>
    public static IReadOnlyList<string> Write(IReadOnlyList<Resource> resources, string outputPath, IConfiguration? configuration = null)
    {
        ArgumentNullException.ThrowIfNull(resources);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputPath);
        var output = new KubernetesOutput(Path.GetFullPath(outputPath));
        var parameters = ResolveParameters(resources, output, configuration);
        var options = new KubernetesOptions();
        configuration?.GetSection("Kubernetes").Bind(options);
        var model = new KubernetesModel(resources, parameters, options);

        var folders = new List<string>();
        foreach (var resource in resources)
        {
            var written = resource switch
            {
                PostgresServerResource postgres => WritePostgres(output, model, postgres),
                RedisResource redis => WriteRedis(output, model, redis),
                ProjectResource project => WriteProject(output, model, project),
                ParameterResource or PostgresDatabaseResource => false, // values folded into the resources that use them
                _ => throw new NotSupportedException($"{resource} cannot be published to Kubernetes."),
            };
            if (written)
            {
                folders.Add(resource.Name);
            }
        }
        output.Yaml("kustomization.yaml", Kustomization(folders, labels: true));
        KubernetesOverlays.Write(output, model, folders);
        return output.Missing;
    }

    private static Dictionary<string, string> ResolveParameters(IReadOnlyList<Resource> resources, KubernetesOutput output, IConfiguration? configuration)
    {
        var kept = output.ReadEnv(ParametersFile);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var parameter in resources.OfType<ParameterResource>())
        {
            var value = configuration?[$"Parameters:{parameter.Name}"] ?? kept.GetValueOrDefault(parameter.Name) ?? parameter.Generate?.Invoke();
            if (value is null)
            {
                output.Missing.Add(parameter.Name);
                value = "";
            }
            values[parameter.Name] = value;
        }
        output.Env(ParametersFile, values.Where(p => resources.OfType<ParameterResource>().Single(r => r.Name == p.Key).Secret));
        return values;
    }

    private static bool WritePostgres(KubernetesOutput output, KubernetesModel model, PostgresServerResource postgres)
    {
        var name = postgres.Name;
        // The image creates the first database; the init script creates every one, so any number works.
        var init = string.Concat(postgres.Databases.Select(d => $"CREATE DATABASE \"{d.DatabaseName}\";\n"));
        var container = Container(name, PostgresServerResource.Image,
            ports: [Port("tcp", 5432)],
            resources: Resources("250m", "512Mi", "1", "1Gi"),
            readiness: ExecProbe("sh", "-c", "pg_isready -U \"$POSTGRES_USER\" -h 127.0.0.1"),
            liveness: TcpProbe(5432));
        container["volumeMounts"] = new List<object>
        {
            Map(("name", "data"), ("mountPath", "/var/lib/postgresql/data")),
            Map(("name", "init"), ("mountPath", "/docker-entrypoint-initdb.d")),
        };
        var pod = PodSpec(container, securityContext: Map(("fsGroup", 999)));
        pod["volumes"] = new List<object> { Map(("name", "init"), ("configMap", Map(("name", $"{name}-init")))) };
        output.Yaml($"{name}/statefulset.yaml", StatefulSet(name, pod, "10Gi"));
        output.Yaml($"{name}/service.yaml", Service(name, [Port("tcp", 5432)], headless: true));
        output.Env($"{name}/{name}.secret.env", [new("POSTGRES_PASSWORD", model.Parameters[postgres.Password.Name])]);
        var kustomization = Kustomization(["statefulset.yaml", "service.yaml"]);
        kustomization["configMapGenerator"] = new List<object>
        {
            Map(("name", $"{name}-env"), ("literals", Literals([
                new("POSTGRES_USER", postgres.UserName),
                new("POSTGRES_HOST_AUTH_METHOD", "scram-sha-256"),
                new("POSTGRES_INITDB_ARGS", "--auth-host=scram-sha-256 --auth-local=scram-sha-256"),
                new("PGDATA", "/var/lib/postgresql/data/pgdata")]))),
            Map(("name", $"{name}-init"), ("literals", new List<object> { $"create-databases.sql={init}" })),
        };
        kustomization["secretGenerator"] = SecretGenerator(name);
        output.Yaml($"{name}/kustomization.yaml", kustomization);
        return true;
    }

    private static bool WriteRedis(KubernetesOutput output, KubernetesModel model, RedisResource redis)
    {
        var name = redis.Name;
        var container = Container(name, RedisResource.Image,
            ports: [Port("tcp", 6379)],
            resources: Resources("100m", "128Mi", "500m", "512Mi"),
            // REDISCLI_AUTH keeps the password off the probe's command line.
            readiness: ExecProbe("sh", "-c", "REDISCLI_AUTH=\"$REDIS_PASSWORD\" redis-cli ping | grep -q PONG"),
            liveness: TcpProbe(6379));
        container["command"] = new List<object> { "sh", "-c", "exec redis-server --requirepass \"$REDIS_PASSWORD\" --appendonly yes --dir /data" };
        container["volumeMounts"] = new List<object> { Map(("name", "data"), ("mountPath", "/data")) };
        output.Yaml($"{name}/statefulset.yaml", StatefulSet(name, PodSpec(container, securityContext: Map(("fsGroup", 999))), "2Gi"));
        output.Yaml($"{name}/service.yaml", Service(name, [Port("tcp", 6379)], headless: true));
        output.Env($"{name}/{name}.secret.env", [new("REDIS_PASSWORD", model.Parameters[redis.Password.Name])]);
        var kustomization = Kustomization(["statefulset.yaml", "service.yaml"]);
        kustomization["secretGenerator"] = SecretGenerator(name);
        output.Yaml($"{name}/kustomization.yaml", kustomization);
        return true;
    }

    private static bool WriteProject(KubernetesOutput output, KubernetesModel model, ProjectResource project)
    {
        var name = project.Name;
        var endpoints = project.AnnotationsOf<EndpointAnnotation>().ToList();
        var (config, secrets) = model.Environment(project);
        var gpu = project.AnnotationsOf<GpuAnnotation>().SingleOrDefault();
        var isJob = model.IsJob(project);

        var container = Container(name, KubernetesModel.Image(project),
            ports: endpoints.Select(e => Port(e.Name, KubernetesModel.TargetPort(e))).ToList(),
            resources: gpu is not null ? Resources("2", "4Gi", "4", "8Gi", gpu.Count)
                : isJob ? Resources("100m", "128Mi", "500m", "256Mi")
                : Resources("250m", "256Mi", "1", "512Mi"),
            readiness: isJob ? null : Readiness(project, endpoints),
            liveness: isJob ? null : HttpProbe("/alive", "http"));
        var args = project.AnnotationsOf<ArgumentsAnnotation>().SelectMany(a => a.Arguments).ToList();
        if (args.Count > 0)
        {
            container["args"] = args.Cast<object>().ToList();
        }
        var envFrom = new List<object> { Map(("configMapRef", Map(("name", $"{name}-env")))) };
        if (secrets.Count > 0)
        {
            envFrom.Add(Map(("secretRef", Map(("name", $"{name}-secrets")))));
        }
        container["envFrom"] = envFrom;
        // A pod's own address, for services that tell peers where to reach this pod (the A2F controller's callback).
        container["env"] = new List<object>
        {
            Map(("name", "POD_IP"), ("valueFrom", Map(("fieldRef", Map(("fieldPath", "status.podIP")))))),
        };
        // The .NET images run as the non-root 'app' user (uid 1654).
        container["securityContext"] = Map(("runAsNonRoot", true), ("allowPrivilegeEscalation", false),
            ("capabilities", Map(("drop", new List<object> { "ALL" }))));
        var pod = PodSpec(container);
        if (gpu is not null)
        {
            pod["nodeSelector"] = Map(("nvidia.com/gpu.present", "true"));
            pod["tolerations"] = new List<object>
            {
                Map(("key", "nvidia.com/gpu"), ("operator", "Exists"), ("effect", "NoSchedule")),
            };
        }

        var files = new List<string>();
        if (isJob)
        {
            pod["restartPolicy"] = "OnFailure";
            output.Yaml($"{name}/job.yaml", Workload("batch/v1", "Job", name, Map(
                ("backoffLimit", 6),
                ("ttlSecondsAfterFinished", 3600),
                ("template", Map(("metadata", Map(("labels", Labels(name)))), ("spec", pod))))));
            files.Add("job.yaml");
        }
        else
        {
            var replicas = project.AnnotationsOf<ReplicaAnnotation>().SingleOrDefault()?.Replicas ?? 1;
            output.Yaml($"{name}/deployment.yaml", Workload("apps/v1", "Deployment", name, Map(
                ("replicas", replicas),
                ("selector", Map(("matchLabels", Labels(name)))),
                ("template", Map(("metadata", Map(("labels", Labels(name)))), ("spec", pod))))));
            files.Add("deployment.yaml");
        }
        if (endpoints.Count > 0)
        {
            output.Yaml($"{name}/service.yaml", Service(name, endpoints.Select(e => Port(e.Name, KubernetesModel.TargetPort(e))).ToList()));
            files.Add("service.yaml");
        }
        if (model.IsAutoscaled(project))
        {
            var replicas = project.AnnotationsOf<ReplicaAnnotation>().SingleOrDefault()?.Replicas ?? 1;
            output.Yaml($"{name}/hpa.yaml", Autoscaler(name, Math.Max(2, replicas), 4, 70));
            files.Add("hpa.yaml");
        }

        var kustomization = Kustomization(files);
        kustomization["configMapGenerator"] = new List<object> { Map(("name", $"{name}-env"), ("literals", Literals(config))) };
        if (secrets.Count > 0)
        {
            output.Env($"{name}/{name}.secret.env", secrets);
            kustomization["secretGenerator"] = SecretGenerator(name);
        }
        output.Yaml($"{name}/kustomization.yaml", kustomization);
        return true;
    }

    private static Dictionary<string, object?> Readiness(ProjectResource project, List<EndpointAnnotation> endpoints)
    {
        // The A2F services answer the standard gRPC health check on their gRPC port; kubelet speaks it natively.
        if (endpoints.FirstOrDefault(e => e.IsHttp2 && e.Name == "grpc") is { } grpc)
        {
            return Probe(Map(("grpc", Map(("port", KubernetesModel.TargetPort(grpc))))));
        }
        var health = project.AnnotationsOf<HttpHealthCheckAnnotation>().SingleOrDefault();
        return HttpProbe(health?.Path ?? "/health", health?.EndpointName ?? "http");
    }

    internal static Dictionary<string, object?> Map(params (string Key, object? Value)[] entries)
    {
        var map = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, value) in entries)
        {
            map[key] = value;
        }
        return map;
    }

    internal static Dictionary<string, object?> Labels(string name) => Map(("app.kubernetes.io/name", name));

    internal static Dictionary<string, object?> Kustomization(IEnumerable<string> resources, bool labels = false)
    {
        var kustomization = Map(("apiVersion", "kustomize.config.k8s.io/v1beta1"), ("kind", "Kustomization"));
        if (labels)
        {
            kustomization["labels"] = new List<object> { Map(("pairs", Map(("app.kubernetes.io/part-of", "avatar")))) };
        }
        kustomization["resources"] = resources.Cast<object>().ToList();
        return kustomization;
    }

    private static List<object> SecretGenerator(string name)
        => [Map(("name", $"{name}-secrets"), ("envs", new List<object> { $"{name}.secret.env" }))];

    private static List<object> Literals(IEnumerable<KeyValuePair<string, string>> values)
        => values.Select(v => (object)$"{v.Key}={v.Value}").ToList();

    private static Dictionary<string, object?> Workload(string apiVersion, string kind, string name, Dictionary<string, object?> spec)
        => Map(("apiVersion", apiVersion), ("kind", kind), ("metadata", Map(("name", name), ("labels", Labels(name)))), ("spec", spec));

    private static Dictionary<string, object?> StatefulSet(string name, Dictionary<string, object?> pod, string storage)
        => Workload("apps/v1", "StatefulSet", name, Map(
            ("serviceName", name),
            ("replicas", 1),
            ("selector", Map(("matchLabels", Labels(name)))),
            ("template", Map(("metadata", Map(("labels", Labels(name)))), ("spec", pod))),
            ("volumeClaimTemplates", new List<object>
            {
                Map(("metadata", Map(("name", "data"))), ("spec", Map(
                    ("accessModes", new List<object> { "ReadWriteOnce" }),
                    ("resources", Map(("requests", Map(("storage", storage)))))))),
            })));

    private static Dictionary<string, object?> Service(string name, List<Dictionary<string, object?>> ports, bool headless = false)
    {
        var spec = Map(("selector", Labels(name)));
        if (headless)
        {
            // Stateful stores get stable pod DNS names; clients still connect to the service's name.
            spec["clusterIP"] = "None";
        }
        spec["ports"] = ports.Select(p => (object)Map(("name", p["name"]), ("port", p["containerPort"]), ("targetPort", p["name"]),
            ("protocol", "TCP"))).ToList();
        return Map(("apiVersion", "v1"), ("kind", "Service"), ("metadata", Map(("name", name), ("labels", Labels(name)))), ("spec", spec));
    }

    private static Dictionary<string, object?> Autoscaler(string name, int min, int max, int cpuPercent)
        => Map(("apiVersion", "autoscaling/v2"), ("kind", "HorizontalPodAutoscaler"), ("metadata", Map(("name", name), ("labels", Labels(name)))),
            ("spec", Map(
                ("scaleTargetRef", Map(("apiVersion", "apps/v1"), ("kind", "Deployment"), ("name", name))),
                ("minReplicas", min),
                ("maxReplicas", max),
                ("metrics", new List<object>
                {
                    Map(("type", "Resource"), ("resource", Map(("name", "cpu"),
                        ("target", Map(("type", "Utilization"), ("averageUtilization", cpuPercent)))))),
                }))));

    private static Dictionary<string, object?> PodSpec(Dictionary<string, object?> container, Dictionary<string, object?>? securityContext = null)
    {
        var pod = Map(("containers", new List<object> { container }), ("terminationGracePeriodSeconds", 30));
        if (securityContext is not null)
        {
            pod["securityContext"] = securityContext;
        }
        return pod;
    }

    private static Dictionary<string, object?> Container(string name, string image, List<Dictionary<string, object?>> ports,
        Dictionary<string, object?> resources, Dictionary<string, object?>? readiness, Dictionary<string, object?>? liveness)
    {
        var container = Map(("name", name), ("image", image), ("imagePullPolicy", "IfNotPresent"));
        if (ports.Count > 0)
        {
            container["ports"] = ports.Cast<object>().ToList();
        }
        container["resources"] = resources;
        if (readiness is not null)
        {
            container["readinessProbe"] = readiness;
        }
        if (liveness is not null)
        {
            container["livenessProbe"] = liveness;
        }
        return container;
    }

    private static Dictionary<string, object?> Port(string name, int port)
        => Map(("name", name), ("containerPort", port), ("protocol", "TCP"));

    private static Dictionary<string, object?> Resources(string cpuRequest, string memoryRequest, string cpuLimit, string memoryLimit, int gpus = 0)
    {
        var limits = Map(("cpu", cpuLimit), ("memory", memoryLimit));
        if (gpus > 0)
        {
            limits["nvidia.com/gpu"] = gpus.ToString(CultureInfo.InvariantCulture);
        }
        return Map(("requests", Map(("cpu", cpuRequest), ("memory", memoryRequest))), ("limits", limits));
    }

    private static Dictionary<string, object?> Probe(Dictionary<string, object?> handler)
    {
        handler["initialDelaySeconds"] = 5;
        handler["periodSeconds"] = 10;
        handler["timeoutSeconds"] = 3;
        handler["failureThreshold"] = 3;
        return handler;
    }

    private static Dictionary<string, object?> HttpProbe(string path, string port) => Probe(Map(("httpGet", Map(("path", path), ("port", port)))));

    private static Dictionary<string, object?> TcpProbe(int port) => Probe(Map(("tcpSocket", Map(("port", port)))));

    private static Dictionary<string, object?> ExecProbe(params string[] command)
        => Probe(Map(("exec", Map(("command", command.Cast<object>().ToList())))));
}

/// <summary>Where the manifests will run, from the AppHost's <c>Kubernetes</c> configuration section.</summary>
public sealed class KubernetesOptions
{
    /// <summary>The namespace of the prod and keda overlays.</summary>
    public string Namespace { get; set; } = "avatar";

    /// <summary>The DNS zone the ingress host names are made in (api.{Domain}, chat.{Domain}...).</summary>
    public string Domain { get; set; } = "avatar.example.com";

    /// <summary>The registry the prod overlay pulls images from, such as an ECR repository prefix.</summary>
    public string Registry { get; set; } = "registry.example.com/avatar";

    /// <summary>The Redis stream the worker consumes (KEDA scales on its pending entries).</summary>
    public string JobStream { get; set; } = "avatar:jobs";

    /// <summary>The worker's consumer group on <see cref="JobStream"/>.</summary>
    public string JobConsumerGroup { get; set; } = "workers";
}
