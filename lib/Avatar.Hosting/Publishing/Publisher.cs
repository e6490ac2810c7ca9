namespace Avatar.Hosting.Publishing;

/// <summary>Chooses the publisher named by <c>--publisher</c>.</summary>
internal static class Publisher
{
    public static void Publish(string publisher, string? outputPath, IReadOnlyList<ApplicationModel.Resource> resources,
        Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        if (string.IsNullOrWhiteSpace(outputPath))
        {
            throw new ArgumentException("--publisher needs --output-path.", nameof(outputPath));
        }
        switch (publisher)
        {
            case "manifest":
                ManifestPublisher.Write(resources, outputPath);
                Console.WriteLine($"Wrote the Aspire manifest to {Path.GetFullPath(outputPath)}.");
                break;
            case "kubernetes":
                var missing = KubernetesPublisher.Write(resources, outputPath, configuration);
                Console.WriteLine($"Wrote Kubernetes manifests to {Path.GetFullPath(outputPath)}; secrets are in its git-ignored *.secret.env files.");
                foreach (var name in missing)
                {
                    Console.WriteLine($"Parameter '{name}' has no value: set Parameters:{name} or fill it in {KubernetesPublisher.ParametersFile}.");
                }
                break;
            default:
                throw new ArgumentException($"Unknown publisher '{publisher}': use 'manifest' or 'kubernetes'.", nameof(publisher));
        }
    }
}
