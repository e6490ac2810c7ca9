using System.Reflection;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;

namespace Avatar.Hosting;

/// <summary>Starts projects from what the AppHost's build already made, instead of through <c>dotnet run</c>.</summary>
public static class BuildOutputLaunchExtensions
{
    /// <summary>
    /// In run mode, starts every project as its built executable (<c>bin/{Configuration}/{tfm}/{Name}</c>, built with the
    /// AppHost) instead of <c>dotnet run --no-build</c>. The <c>dotnet run</c> wrapper ignores SIGTERM, so each stop
    /// waited for the orchestrator's kill, seconds per process, on every Ctrl+C, restart and test; the executable itself
    /// stops at once and gracefully. A project whose executable is not found keeps the default launch.
    /// </summary>
    public static IDistributedApplicationBuilder RunProjectsFromBuildOutput(this IDistributedApplicationBuilder builder)
    {
        if (!builder.ExecutionContext.IsRunMode)
        {
            return builder;
        }
        var configuration = AppHostConfiguration(builder.Environment.ApplicationName);
        builder.Eventing.Subscribe<BeforeStartEvent>((@event, _) =>
        {
            foreach (var project in @event.Model.Resources.OfType<ProjectResource>())
            {
                if (project.HasAnnotationOfType<ExecutableAnnotation>() || !project.TryGetLastAnnotation<IProjectMetadata>(out var metadata))
                {
                    continue;
                }
                var projectDirectory = Path.GetDirectoryName(metadata.ProjectPath)!;
                var name = Path.GetFileNameWithoutExtension(metadata.ProjectPath);
                var output = Path.Combine(projectDirectory, "bin", configuration);
                var executable = Directory.Exists(output)
                    ? Directory.GetDirectories(output).Select(tfm => Path.Combine(tfm, name)).Where(File.Exists).OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault()
                    : null;
                if (executable is not null)
                {
                    project.Annotations.Add(new ExecutableAnnotation { Command = executable, WorkingDirectory = projectDirectory });
                }
            }
            return Task.CompletedTask;
        });
        return builder;
    }

    private static string AppHostConfiguration(string appHostAssemblyName) =>
        AppDomain.CurrentDomain.GetAssemblies().FirstOrDefault(a => a.GetName().Name == appHostAssemblyName)
            ?.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration
        ?? "Debug";
}
