namespace Avatar.Kubernetes;

/// <summary>Where the manifests will run: the <c>Kubernetes</c> configuration section (appsettings.json, the environment, the command line).</summary>
internal sealed class KubernetesOptions
{
    /// <summary>The namespace of the prod and keda overlays.</summary>
    public string Namespace { get; set; } = "avatar";

    /// <summary>The DNS zone the ingress host names are made in (api.{Domain}, chat.{Domain}...).</summary>
    public string Domain { get; set; } = "avatar.example.com";

    /// <summary>The registry the prod overlay pulls the projects' images from, such as an ECR repository prefix.</summary>
    public string Registry { get; set; } = "registry.example.com/avatar";

    /// <summary>The Redis stream the worker consumes (KEDA scales on its pending entries).</summary>
    public string JobStream { get; set; } = "avatar:jobs";

    /// <summary>The worker's consumer group on <see cref="JobStream"/>.</summary>
    public string JobConsumerGroup { get; set; } = "workers";
}
