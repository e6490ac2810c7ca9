using Avatar.Hosting.ApplicationModel;
using static Avatar.Hosting.Publishing.KubernetesPublisher;

namespace Avatar.Hosting.Publishing;

/// <summary>Where the cluster differs: a local cluster (NodePort, no GPU), production on EKS, and KEDA for the worker.</summary>
internal static class KubernetesOverlays
{

    /// <summary>
    /// Writes the overlays over <paramref name="folders"/>. Kustomize refuses a base whose folder holds the overlay, so
    /// an overlay lists the resource folders rather than the top-level kustomization.
    /// </summary>
    public static void Write(KubernetesOutput output, KubernetesModel model, IReadOnlyList<string> folders)
    {
        var bases = folders.Select(f => $"../../{f}").ToList();
        WriteLocal(output, model, bases);
        WriteProd(output, model, bases);
        WriteKeda(output, model);
    }

    private static IEnumerable<(ProjectResource Project, List<EndpointAnnotation> Endpoints)> External(KubernetesModel model)
        => model.Resources.OfType<ProjectResource>()
            .Select(p => (p, p.AnnotationsOf<EndpointAnnotation>().Where(e => e.IsExternal).ToList()))
            .Where(p => p.Item2.Count > 0);

    /// <summary>kind, minikube or Docker Desktop: external services on node ports, and the GPU service on the CPU.</summary>
    private static void WriteLocal(KubernetesOutput output, KubernetesModel model, List<string> bases)
    {
        var patches = new List<object>();
        foreach (var (project, _) in External(model))
        {
            patches.Add(Map(("target", Map(("kind", "Service"), ("name", project.Name))),
                ("patch", "- op: add\n  path: /spec/type\n  value: NodePort\n")));
        }
        foreach (var project in model.Resources.OfType<ProjectResource>().Where(p => p.AnnotationsOf<GpuAnnotation>().Any()))
        {
            patches.Add(Map(("target", Map(("kind", "Deployment"), ("name", project.Name))),
                ("patch", "- op: remove\n  path: /spec/template/spec/containers/0/resources/limits/nvidia.com~1gpu\n"
                    + "- op: remove\n  path: /spec/template/spec/nodeSelector\n"
                    + "- op: remove\n  path: /spec/template/spec/tolerations\n")));
        }
        var kustomization = Kustomization(bases, labels: true);
        kustomization["patches"] = patches;
        output.Yaml("overlays/local/kustomization.yaml", kustomization);
    }

    /// <summary>EKS: a namespace, images from the registry, and one ALB (AWS Load Balancer Controller) for every external endpoint.</summary>
    private static void WriteProd(KubernetesOutput output, KubernetesModel model, List<string> bases)
    {
        var options = model.Options;
        output.Yaml("overlays/prod/namespace.yaml",
            Map(("apiVersion", "v1"), ("kind", "Namespace"), ("metadata", Map(("name", options.Namespace)))));

        var http = new List<object>();
        var grpc = new List<object>();
        foreach (var (project, endpoints) in External(model))
        {
            foreach (var endpoint in endpoints)
            {
                var rule = Map(("host", model.Host(project, endpoint)), ("http", Map(("paths", new List<object>
                {
                    Map(("path", "/"), ("pathType", "Prefix"), ("backend", Map(("service", Map(
                        ("name", project.Name), ("port", Map(("name", endpoint.Name))))))))
                }))));
                (endpoint.IsHttp2 ? grpc : http).Add(rule);
            }
        }
        var resources = new List<string>(bases) { "namespace.yaml" };
        if (http.Count > 0)
        {
            output.Yaml("overlays/prod/ingress.yaml", Ingress("avatar", "HTTP1", "/health", http));
            resources.Add("ingress.yaml");
        }
        if (grpc.Count > 0)
        {
            // ALB needs gRPC targets in an Ingress of their own (the protocol version is per Ingress); the group
            // annotation keeps one load balancer for both.
            output.Yaml("overlays/prod/ingress-grpc.yaml", Ingress("avatar-grpc", "GRPC", "/grpc.health.v1.Health/Check", grpc));
            resources.Add("ingress-grpc.yaml");
        }
        var kustomization = Kustomization(resources, labels: true);
        kustomization["namespace"] = options.Namespace;
        kustomization["images"] = model.Resources.OfType<ProjectResource>()
            .Select(p => KubernetesModel.Image(p).Split(':')[0]).Distinct()
            .Select(image => (object)Map(("name", image), ("newName", $"{options.Registry}/{image}"), ("newTag", "latest")))
            .ToList();
        output.Yaml("overlays/prod/kustomization.yaml", kustomization);
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
    /// Applied on top of prod, since KEDA's operator reaches Redis through the namespace's DNS name.
    /// </summary>
    private static void WriteKeda(KubernetesOutput output, KubernetesModel model)
    {
        if (model.Resources.OfType<ProjectResource>().FirstOrDefault(p => p.Name == "worker") is not { } worker
            || worker.AnnotationsOf<ReferenceAnnotation>().Select(r => r.Target).OfType<RedisResource>().FirstOrDefault() is not { } redis)
        {
            return;
        }
        var options = model.Options;
        output.Yaml("overlays/keda/scaledobject.yaml", Map(
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
                            ("address", $"{redis.Name}.{options.Namespace}.svc.cluster.local:6379"),
                            ("stream", options.JobStream),
                            ("consumerGroup", options.JobConsumerGroup),
                            ("pendingEntriesCount", "10"))),
                        ("authenticationRef", Map(("name", $"{worker.Name}-redis")))),
                })))));
        output.Yaml("overlays/keda/triggerauthentication.yaml", Map(
            ("apiVersion", "keda.sh/v1alpha1"), ("kind", "TriggerAuthentication"),
            ("metadata", Map(("name", $"{worker.Name}-redis"))),
            ("spec", Map(("secretTargetRef", new List<object>
            {
                Map(("parameter", "password"), ("name", $"{worker.Name}-redis"), ("key", "REDIS_PASSWORD")),
            })))));
        output.Env("overlays/keda/keda.secret.env", [new("REDIS_PASSWORD", model.Parameters[redis.Password.Name])]);
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
        output.Yaml("overlays/keda/kustomization.yaml", kustomization);
    }
}
