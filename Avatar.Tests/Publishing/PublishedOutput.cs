using System.Diagnostics;
using System.Reflection;

namespace Avatar.Tests.Publishing;

/// <summary>
/// One run of what `make publish` runs (eng/publish.sh: the AppHost with --publisher manifest, then eng/Avatar.Kubernetes)
/// into a throwaway folder. The publishing tests read it; those that publish again do so in folders of their own.
/// </summary>
public sealed class PublishedOutput : IAsyncLifetime
{
    public string Folder { get; } = Directory.CreateTempSubdirectory("avatar-publish-").FullName;

    public string ManifestPath => Path.Combine(Folder, "aspire-manifest.json");

    public string OutputPath => Path.Combine(Folder, "aspirate-output");

    public async Task InitializeAsync()
    {
        var (exitCode, output) = await Commands.RunAsync("bash", [Path.Combine(Repository.Root, "eng/publish.sh"), Commands.Configuration, ManifestPath, OutputPath]);
        Assert.True(exitCode == 0, $"eng/publish.sh failed:\n{output}");
    }

    public Task DisposeAsync()
    {
        Directory.Delete(Folder, recursive: true);
        return Task.CompletedTask;
    }
}

[CollectionDefinition(Name)]
public sealed class PublishingCollection : ICollectionFixture<PublishedOutput>
{
    public const string Name = "Publishing";
}

/// <summary>The commands a user runs to publish, run the same way.</summary>
internal static class Commands
{
    /// <summary>The configuration these tests were built in, which the AppHost and the generator were built in too.</summary>
    public static string Configuration { get; } =
        typeof(Commands).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    /// <summary>The generator as `make publish` runs it.</summary>
    public static Task<(int ExitCode, string Output)> GenerateAsync(params string[] arguments) =>
        RunAsync("dotnet", ["run", "--project", Path.Combine(Repository.Root, "eng/Avatar.Kubernetes"), "-c", Configuration, "--no-build", "--", .. arguments]);

    public static async Task<(int ExitCode, string Output)> RunAsync(string command, IEnumerable<string> arguments, string? input = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(command)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            WorkingDirectory = Repository.Root,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{command} did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
        }
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{command} {string.Join(' ', arguments)} ran past 3 minutes.");
        }
        return (process.ExitCode, await stdout + await stderr);
    }
}
