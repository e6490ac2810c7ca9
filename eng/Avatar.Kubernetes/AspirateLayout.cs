using System.Globalization;
using System.Text.Json.Nodes;
using static Avatar.Kubernetes.KubernetesObjects;

namespace Avatar.Kubernetes;

/// <summary>
/// Writes the manifest's resources in Aspirate's kustomize layout: a folder per project or container with its workload
/// (Deployment, Job, or StatefulSet with volume claims), its Service and HorizontalPodAutoscaler, and a kustomization
/// whose generators make its ConfigMap and Secret; a top-level kustomization over the folders. Where Aspirate stops,
/// the resource's deployment object (Avatar.Hosting's <c>AddKubernetesDeploymentInfo</c>) says the rest: replicas,
/// probes, requests and limits, GPUs, storage.
/// </summary>
/// <remarks>Environment that resolves from a secret parameter goes to the Secret's <c>*.secret.env</c> file, never to a ConfigMap.</remarks>
internal sealed class AspirateLayout(AspireManifest manifest, ManifestExpressions expressions, KubernetesOptions options, KustomizeOutput output)
{
    public AspireManifest Manifest { get; } = manifest;

    public ManifestExpressions Expressions { get; } = expressions;

    public KubernetesOptions Options { get; } = options;

    public KustomizeOutput Output { get; } = output;

    /// <summary>Writes every resource's folder and the top-level kustomization; returns the folders.</summary>
    public IReadOnlyList<string> WriteResources()
    {
        var folders = new List<string>();
        foreach (var resource in Manifest.Resources)
        {
            if (resource.IsProject)
            {
                WriteProject(resource);
            }
            else if (resource.IsContainer)
            {
                WriteContainer(resource);
            }
            else if (resource.Type is "parameter.v0" or "value.v0" or "annotated.string")
            {
                continue; // values, folded into the resources that use them
            }
            else
            {
                throw new NotSupportedException($"'{resource.Name}' ({resource.Type}) cannot be published to Kubernetes.");
            }
            folders.Add(resource.Name);
        }
        Output.Yaml("kustomization.yaml", Kustomization(folders, labels: true));
        return folders;
    }

    /// <summary>The image the SDK's container support builds for a project (ContainerRepository in Directory.Build.props).</summary>
    public static string ProjectImage(ManifestResource project)
        => $"{Path.GetFileNameWithoutExtension(project.ProjectPath)!.ToLowerInvariant().Replace('.', '-')}:latest";

    /// <summary>The ingress host of an external binding: {resource}.{Domain}, or {resource}-{binding}.{Domain} beside a first one.</summary>
    public string Host(ManifestResource resource, Binding binding)
        => binding.Name is "http" or "grpc" ? $"{resource.Name}.{Options.Domain}" : $"{resource.Name}-{binding.Name}.{Options.Domain}";

    public static JsonObject DeploymentOf(ManifestResource resource) => resource.Deployment
        ?? throw new InvalidDataException($"'{resource.Name}' has no Kubernetes deployment object: the AppHost calls builder.AddKubernetesDeploymentInfo().");

    public static int Gpus(JsonObject deployment) => (int?)deployment["gpus"] ?? 0;

    private void WriteProject(ManifestResource project)
    {
        var name = project.Name;
        var deployment = DeploymentOf(project);
        var (config, secrets) = Environment(project, deployment);
        var container = Container(project, deployment, ProjectImage(project), config.Count > 0, secrets.Count > 0);
        // A pod's own address, for services that tell peers where to reach this very pod (the A2F controller's callback).
        container["env"] = new List<object> { Map(("name", "POD_IP"), ("valueFrom", Map(("fieldRef", Map(("fieldPath", "status.podIP")))))) };
        container["securityContext"] = ContainerSecurity();
        var pod = Pod(container, deployment);
        var gpus = Gpus(deployment);
        if (gpus > 0)
        {
            pod["nodeSelector"] = Map(("nvidia.com/gpu.present", "true"));
            pod["tolerations"] = new List<object> { Map(("key", "nvidia.com/gpu"), ("operator", "Exists"), ("effect", "NoSchedule")) };
        }

        var files = new List<string>();
        if ((string?)deployment["workload"] == "Job")
        {
            pod["restartPolicy"] = "OnFailure";
            Output.Yaml($"{name}/job.yaml", Workload("batch/v1", "Job", name, Map(
                ("backoffLimit", 6),
                ("ttlSecondsAfterFinished", 3600),
                ("template", Map(("metadata", Map(("labels", Labels(name)))), ("spec", pod))))));
            files.Add("job.yaml");
        }
        else
        {
            Output.Yaml($"{name}/deployment.yaml", Workload("apps/v1", "Deployment", name, Map(
                ("replicas", (int?)deployment["replicas"] ?? 1),
                ("selector", Map(("matchLabels", Labels(name)))),
                ("template", Map(("metadata", Map(("labels", Labels(name)))), ("spec", pod))))));
            files.Add("deployment.yaml");
        }
        if (project.Bindings.Count > 0)
        {
            Output.Yaml($"{name}/service.yaml", Service(name, project.Bindings, headless: false));
            files.Add("service.yaml");
        }
        if (deployment["autoscaling"] is JsonObject autoscaling)
        {
            Output.Yaml($"{name}/hpa.yaml", Autoscaler(name, autoscaling));
            files.Add("hpa.yaml");
        }
        WriteKustomization(name, files, config, secrets, []);
    }

    private void WriteContainer(ManifestResource resource)
    {
        var name = resource.Name;
        var deployment = DeploymentOf(resource);
        var (config, secrets) = Environment(resource, deployment);
        var container = Container(resource, deployment, resource.Image
            ?? throw new NotSupportedException($"'{name}' is built from a Dockerfile, which this output does not build."), config.Count > 0, secrets.Count > 0);
        var mounts = new List<object>();
        var claims = new List<object>();
        foreach (var (volume, target) in resource.Volumes)
        {
            var claim = ClaimName(name, volume);
            var storage = (string?)deployment["storage"] ?? throw new InvalidDataException($"'{name}' has volumes and no storage size in its deployment object.");
            mounts.Add(Map(("name", claim), ("mountPath", target)));
            claims.Add(Map(("metadata", Map(("name", claim))), ("spec", Map(
                ("accessModes", new List<object> { "ReadWriteOnce" }),
                ("resources", Map(("requests", Map(("storage", storage)))))))));
        }
        var fileVolumes = new List<object>();
        var fileMaps = new List<object>();
        foreach (var files in (deployment["files"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var volume = (string)files["name"]!;
            mounts.Add(Map(("name", volume), ("mountPath", (string)files["mountPath"]!)));
            fileVolumes.Add(Map(("name", volume), ("configMap", Map(("name", $"{name}-{volume}")))));
            fileMaps.Add(Map(("name", $"{name}-{volume}"), ("literals", Literals(((JsonObject)files["files"]!)
                .Select(f => new KeyValuePair<string, string>(f.Key, (string)f.Value!))))));
        }
        if (mounts.Count > 0)
        {
            container["volumeMounts"] = mounts;
        }
        container["securityContext"] = ContainerSecurity();
        var pod = Pod(container, deployment);
        if (fileVolumes.Count > 0)
        {
            pod["volumes"] = fileVolumes;
        }

        var workload = (string?)deployment["workload"];
        if (workload == "StatefulSet")
        {
            var spec = Map(
                ("serviceName", name),
                ("replicas", (int?)deployment["replicas"] ?? 1),
                ("selector", Map(("matchLabels", Labels(name)))),
                ("template", Map(("metadata", Map(("labels", Labels(name)))), ("spec", pod))));
            if (claims.Count > 0)
            {
                spec["volumeClaimTemplates"] = claims;
            }
            Output.Yaml($"{name}/statefulset.yaml", Workload("apps/v1", "StatefulSet", name, spec));
        }
        else
        {
            throw new NotSupportedException($"'{name}': containers are published as StatefulSets here, not as '{workload}'.");
        }
        var kustomizationFiles = new List<string> { "statefulset.yaml" };
        if (resource.Bindings.Count > 0)
        {
            Output.Yaml($"{name}/service.yaml", Service(name, resource.Bindings, headless: true));
            kustomizationFiles.Add("service.yaml");
        }
        WriteKustomization(name, kustomizationFiles, config, secrets, fileMaps);
    }

    /// <summary>
    /// A volume claim's name: the suffix of Aspire's volume name ("data" of "{app}-{hash}-postgres-data"), whose hash
    /// comes from the AppHost's path and so differs from checkout to checkout; any other name, made fit for Kubernetes.
    /// </summary>
    private static string ClaimName(string resource, string volume)
    {
        var marker = $"-{resource}-";
        var at = volume.LastIndexOf(marker, StringComparison.Ordinal);
        var name = at >= 0 ? volume[(at + marker.Length)..] : volume;
        return name.ToLowerInvariant().Replace('.', '-').Replace('_', '-');
    }

    /// <summary>The resource's environment, split into what may go to a ConfigMap and what must go to a Secret.</summary>
    private (List<KeyValuePair<string, string>> Config, List<KeyValuePair<string, string>> Secrets) Environment(ManifestResource resource, JsonObject deployment)
    {
        var config = new List<KeyValuePair<string, string>>();
        var secrets = new List<KeyValuePair<string, string>>();
        if (resource.IsProject && resource.Env.All(e => e.Key != "OTEL_SERVICE_NAME"))
        {
            // Aspire names a project's telemetry when it runs it, not in the manifest; api and migrations share an image.
            config.Add(new("OTEL_SERVICE_NAME", resource.Name));
        }
        var publicUrls = deployment["publicUrls"] as JsonObject;
        foreach (var (name, template) in resource.Env)
        {
            var value = publicUrls?[name] is JsonObject publicUrl ? new Resolved(PublicUrl(publicUrl), false) : Expressions.Resolve(template);
            (value.IsSecret ? secrets : config).Add(new(name, value.Value));
        }
        return (config, secrets);
    }

    private string PublicUrl(JsonObject publicUrl)
    {
        var resource = Manifest[(string)publicUrl["resource"]!];
        var binding = resource.BindingNamed((string)publicUrl["endpoint"]!);
        return binding.External
            ? $"https://{Host(resource, binding)}"
            : throw new InvalidDataException($"'{resource.Name}.{binding.Name}' is not external: only an external endpoint has a public URL.");
    }

    private Dictionary<string, object?> Container(ManifestResource resource, JsonObject deployment, string image, bool hasConfig, bool hasSecrets)
    {
        var name = resource.Name;
        var container = Map(("name", name), ("image", image), ("imagePullPolicy", "IfNotPresent"));
        if (resource.Bindings.Count > 0)
        {
            container["ports"] = resource.Bindings.Select(b => (object)Port(b)).ToList();
        }
        var resources = (Dictionary<string, object?>)FromJson(deployment["resources"]
            ?? throw new InvalidDataException($"'{name}' has no requests and limits in its deployment object."))!;
        if (Gpus(deployment) is > 0 and var gpus)
        {
            ((Dictionary<string, object?>)resources["limits"]!)["nvidia.com/gpu"] = gpus.ToString(CultureInfo.InvariantCulture);
        }
        container["resources"] = resources;
        foreach (var probe in (string[])["readinessProbe", "livenessProbe", "startupProbe"])
        {
            if (deployment[probe] is JsonObject handler)
            {
                container[probe] = FromJson(handler);
            }
        }
        if (resource.Entrypoint is { } entrypoint)
        {
            container["command"] = new List<object> { entrypoint };
        }
        if (resource.Args.Count > 0)
        {
            container["args"] = resource.Args.Select(a => Expressions.Resolve(a) switch
            {
                { IsSecret: true } => throw new InvalidDataException($"An argument of '{name}' holds a secret, which would be written into its manifest."),
                var value => (object)value.Value,
            }).ToList();
        }
        var envFrom = new List<object>();
        if (hasConfig)
        {
            envFrom.Add(Map(("configMapRef", Map(("name", $"{name}-env")))));
        }
        if (hasSecrets)
        {
            envFrom.Add(Map(("secretRef", Map(("name", $"{name}-secrets")))));
        }
        if (envFrom.Count > 0)
        {
            container["envFrom"] = envFrom;
        }
        return container;
    }

    /// <summary>
    /// Not root, no privilege escalation, no capabilities: the .NET images run as their 'app' user (uid 1654), and the
    /// data stores as the user their deployment object names.
    /// </summary>
    private static Dictionary<string, object?> ContainerSecurity() => Map(("runAsNonRoot", true), ("allowPrivilegeEscalation", false),
        ("capabilities", Map(("drop", new List<object> { "ALL" }))));

    private static Dictionary<string, object?> Pod(Dictionary<string, object?> container, JsonObject deployment)
    {
        var pod = Map(("containers", new List<object> { container }), ("terminationGracePeriodSeconds", 30));
        if (deployment["podSecurityContext"] is JsonObject security)
        {
            pod["securityContext"] = FromJson(security);
        }
        return pod;
    }

    private void WriteKustomization(string name, List<string> files, List<KeyValuePair<string, string>> config,
        List<KeyValuePair<string, string>> secrets, List<object> fileMaps)
    {
        var kustomization = Kustomization(files);
        var configMaps = new List<object>();
        if (config.Count > 0)
        {
            configMaps.Add(Map(("name", $"{name}-env"), ("literals", Literals(config))));
        }
        configMaps.AddRange(fileMaps);
        if (configMaps.Count > 0)
        {
            kustomization["configMapGenerator"] = configMaps;
        }
        if (secrets.Count > 0)
        {
            Output.SecretEnv($"{name}/{name}.secret.env", secrets);
            kustomization["secretGenerator"] = SecretGenerator(name);
        }
        Output.Yaml($"{name}/kustomization.yaml", kustomization);
    }
}
