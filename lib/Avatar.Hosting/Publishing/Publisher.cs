namespace Avatar.Hosting.Publishing;

/// <summary>Chooses the publisher named by <c>--publisher</c>.</summary>
internal static class Publisher
{
    public static void Publish(string publisher, string? outputPath, IReadOnlyList<ApplicationModel.Resource> resources)
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
            default:
                throw new ArgumentException($"Unknown publisher '{publisher}': use 'manifest'.", nameof(publisher));
        }
    }
}
