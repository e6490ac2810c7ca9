using static Avatar.Kubernetes.KubernetesObjects;

namespace Avatar.Kubernetes;

/// <summary>Where clusters differ: a local cluster (NodePort, no GPU), production on EKS, and KEDA for the worker.</summary>
internal static class Overlays
{
    /// <summary>The project KEDA scales on its job stream (<see cref="KubernetesOptions.JobStream"/>).</summary>
    private const string Worker = "worker";

    /// <summary>
    /// Writes the overlays over <paramref name="folders"/>. Kustomize refuses a base whose folder holds the overlay, so
    /// an overlay lists the resource folders rather than the top-level kustomization.
    /// </summary>
    public static void Write(AspirateLayout layout, IReadOnlyList<string> folders)
    {
        var bases = folders.Select(f => $"../../{f}").ToList();
        WriteLocal(layout, bases);
        WriteProd(layout, bases);
        WriteKeda(layout);
    }

    private static IEnumerable<(ManifestResource Project, List<Binding> Bindings)> External(AspirateLayout layout)
        => layout.Manifest.Resources.Where(r => r.IsProject)
            .Select(p => (p, p.Bindings.Where(b => b.External).ToList()))
            .Where(p => p.Item2.Count > 0);

    /// <summary>kind, minikube or Docker Desktop: external services on node ports, and the GPU service on the CPU.</summary>
    private static void WriteLocal(AspirateLayout layout, List<string> bases)
    {
        var patches = new List<object>();
        foreach (var (project, _) in External(layout))
        {
            patches.Add(Map(("target", Map(("kind", "Service"), ("name", project.Name))),
                ("patch", "- op: add\n  path: /spec/type\n  value: NodePort\n")));
        }
        foreach (var project in layout.Manifest.Resources.Where(r => r.IsProject && AspirateLayout.Gpus(AspirateLayout.DeploymentOf(r)) > 0))
        {
            patches.Add(Map(("target", Map(("kind", "Deployment"), ("name", project.Name))),
                ("patch", "- op: remove\n  path: /spec/template/spec/containers/0/resources/limits/nvidia.com~1gpu\n"
                    + "- op: remove\n  path: /spec/template/spec/nodeSelector\n"
                    + "- op: remove\n  path: /spec/template/spec/tolerations\n")));
        }
        var kustomization = Kustomization(bases, labels: true);
        kustomization["patches"] = patches;
        layout.Output.Yaml("overlays/local/kustomization.yaml", kustomization);
    }

    /// <summary>EKS: a namespace, images from the registry, and one ALB (AWS Load Balancer Controller) for every external endpoint.</summary>
    private static void WriteProd(AspirateLayout layout, List<string> bases)
    {
        var options = layout.Options;
        layout.Output.Yaml("overlays/prod/namespace.yaml",
            Map(("apiVersion", "v1"), ("kind", "Namespace"), ("metadata", Map(("name", options.Namespace)))));

        var http = new List<object>();
        var grpc = new List<object>();
        foreach (var (project, bindings) in External(layout))
        {
            foreach (var binding in bindings)
            {
                var rule = Map(("host", layout.Host(project, binding)), ("http", Map(("paths", new List<object>
                {
                    Map(("path", "/"), ("pathType", "Prefix"), ("backend", Map(("service", Map(
                        ("name", project.Name), ("port", Map(("name", binding.Name))))))))
                }))));
                (binding.IsHttp2 ? grpc : http).Add(rule);
            }
        }
        var resources = new List<string>(bases) { "namespace.yaml" };
        if (http.Count > 0)
        {
            layout.Output.Yaml("overlays/prod/ingress.yaml", Ingress("avatar", "HTTP1", "/health", http));
            resources.Add("ingress.yaml");
        }
        if (grpc.Count > 0)
        {
            // ALB needs gRPC targets in an Ingress of their own (the protocol version is per Ingress); the group
            // annotation keeps one load balancer for both.
            layout.Output.Yaml("overlays/prod/ingress-grpc.yaml", Ingress("avatar-grpc", "GRPC", "/grpc.health.v1.Health/Check", grpc));
            resources.Add("ingress-grpc.yaml");
        }
        var kustomization = Kustomization(resources, labels: true);
        kustomization["namespace"] = options.Namespace;
        kustomization["images"] = layout.Manifest.Resources.Where(r => r.IsProject)
            .Select(p => AspirateLayout.ProjectImage(p).Split(':')[0]).Distinct()
            .Select(image => (object)Map(("name", image), ("newName", $"{options.Registry}/{image}"), ("newTag", "latest")))
            .ToList();
        layout.Output.Yaml("overlays/prod/kustomization.yaml", kustomization);
    }

    private static Dictionary<string, object?> Ingress(string name, string protocolVersion, string healthPath, List<object> rules)
    {
        var annotations = Map(
            ("alb.ingress.kubernetes.io/scheme", "internet-facing"),
            ("alb.ingress.kubernetes.io/target-type", "ip"),
            ("alb.ingress.kubernetes.io/group.name", "avatar"),
            ("alb.ingress.kubernetes.io/listen-ports", "[{\"HTTPS\":443}]"),
            ("alb.ingress.kubernetes.io/ssl-redirect", "443"),
            ("alb.ingress.kubernetes.io/backend-protocol-version", protocolVersion),
            ("alb.ingress.kubernetes.io/healthcheck-path", healthPath));
        if (protocolVersion == "GRPC")
        {
            annotations["alb.ingress.kubernetes.io/success-codes"] = "0";
        }
        else
        {
            // Chat's WebSockets stay open for a whole conversation.
            annotations["alb.ingress.kubernetes.io/load-balancer-attributes"] = "idle_timeout.timeout_seconds=3600";
        }
        var hosts = rules.Cast<Dictionary<string, object?>>().Select(r => r["host"]).Cast<object>().ToList();
        return Map(("apiVersion", "networking.k8s.io/v1"), ("kind", "Ingress"),
            ("metadata", Map(("name", name), ("annotations", annotations))),
            ("spec", Map(
                ("ingressClassName", "alb"),
                // Certificates are discovered in ACM by these host names.
                ("tls", new List<object> { Map(("hosts", hosts)) }),
                ("rules", rules))));
    }

    /// <summary>
    /// Scales the worker on its Redis stream's pending jobs instead of CPU: a ScaledObject replaces the worker's HPA.
    /// Applied on top of prod, since KEDA's operator reaches Redis through the namespace's DNS name. The worker's Redis
    /// is the resource its connection string names whose binding has Aspire's "redis" scheme.
    /// </summary>
    private static void WriteKeda(AspirateLayout layout)
    {
        var manifest = layout.Manifest;
        if (manifest.Resources.FirstOrDefault(r => r.IsProject && r.Name == Worker) is not { } worker)
        {
            return;
        }
        if (manifest.Resources.FirstOrDefault(r => r.IsContainer && r.Bindings.Any(b => b.Scheme == "redis")
                && worker.Env.Any(e => e.Value == $"{{{r.Name}.connectionString}}")) is not { } redis)
        {
            return;
        }
        var port = redis.Bindings.First(b => b.Scheme == "redis").TargetPort;
        var password = redis.Env.FirstOrDefault(e => e.Key == "REDIS_PASSWORD").Value
            ?? throw new InvalidDataException($"'{redis.Name}' sets no REDIS_PASSWORD for KEDA to authenticate with.");
        var options = layout.Options;
        layout.Output.Yaml("overlays/keda/scaledobject.yaml", Map(
            ("apiVersion", "keda.sh/v1alpha1"), ("kind", "ScaledObject"),
            ("metadata", Map(("name", worker.Name))),
            ("spec", Map(
                ("scaleTargetRef", Map(("name", worker.Name))),
                ("minReplicaCount", 1),
                ("maxReplicaCount", 8),
                ("triggers", new List<object>
                {
                    Map(("type", "redis-streams"),
                        ("metadata", Map(
                            ("address", $"{redis.Name}.{options.Namespace}.svc.cluster.local:{port}"),
                            ("stream", options.JobStream),
                            ("consumerGroup", options.JobConsumerGroup),
                            ("pendingEntriesCount", "10"))),
                        ("authenticationRef", Map(("name", $"{worker.Name}-redis")))),
                })))));
        layout.Output.Yaml("overlays/keda/triggerauthentication.yaml", Map(
            ("apiVersion", "keda.sh/v1alpha1"), ("kind", "TriggerAuthentication"),
            ("metadata", Map(("name", $"{worker.Name}-redis"))),
            ("spec", Map(("secretTargetRef", new List<object>
            {
                Map(("parameter", "password"), ("name", $"{worker.Name}-redis"), ("key", "REDIS_PASSWORD")),
            })))));
        layout.Output.SecretEnv("overlays/keda/keda.secret.env", [new("REDIS_PASSWORD", layout.Expressions.Resolve(password).Value)]);
        var kustomization = Kustomization(["../prod", "scaledobject.yaml", "triggerauthentication.yaml"]);
        // KEDA reads the Secret by name, which a generated hash suffix would break.
        kustomization["secretGenerator"] = new List<object>
        {
            Map(("name", $"{worker.Name}-redis"), ("envs", new List<object> { "keda.secret.env" }),
                ("options", Map(("disableNameSuffixHash", true)))),
        };
        kustomization["patches"] = new List<object>
        {
            Map(("target", Map(("kind", "HorizontalPodAutoscaler"), ("name", worker.Name))),
                ("patch", $"$patch: delete\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: {worker.Name}\n")),
        };
        layout.Output.Yaml("overlays/keda/kustomization.yaml", kustomization);
    }
}
