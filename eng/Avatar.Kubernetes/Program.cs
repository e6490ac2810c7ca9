using Avatar.Kubernetes;
using Microsoft.Extensions.Configuration;

// `make publish`: the AppHost writes Aspire's manifest (--publisher manifest), and this writes aspirate-output/ from it.
// The paths come from the command line only; Kubernetes:* and Parameters:* also from appsettings.json and the environment.
var commandLine = new ConfigurationBuilder().AddCommandLine(args).Build();
if (commandLine["manifest"] is not { Length: > 0 } manifestPath || commandLine["output"] is not { Length: > 0 } outputPath)
{
    Console.Error.WriteLine("usage: Avatar.Kubernetes --manifest <aspire-manifest.json> --output <folder> [--Kubernetes:Domain=<zone>] [--Parameters:<name>=<value>]");
    return 2;
}
var configuration = new ConfigurationBuilder()
    .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
    .AddEnvironmentVariables()
    .AddCommandLine(args)
    .Build();

try
{
    var manifest = AspireManifest.Load(manifestPath);
    var output = KustomizeOutput.Open(outputPath);
    var parameters = Parameters.Resolve(manifest, configuration, output.ReadSecretEnv(Parameters.File));
    output.SecretEnv(Parameters.File, parameters.Kept);
    var options = configuration.GetSection("Kubernetes").Get<KubernetesOptions>() ?? new();
    var layout = new AspirateLayout(manifest, new ManifestExpressions(manifest, parameters), options, output);
    Overlays.Write(layout, layout.WriteResources());

    Console.WriteLine($"Wrote Kubernetes manifests to {output.Root}; secrets are in its git-ignored *.secret.env files.");
    foreach (var name in parameters.Missing)
    {
        Console.WriteLine($"Parameter '{name}' has no value: set Parameters:{name} or fill it in {Path.Combine(output.Root, Parameters.File)}.");
    }
    return 0;
}
catch (Exception e) when (e is InvalidDataException or NotSupportedException or IOException)
{
    // What the manifest or the output folder is wrong about, said plainly; anything else is a bug and keeps its stack.
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}
