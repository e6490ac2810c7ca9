using System.Security.Cryptography;
using Avatar.Hosting.ApplicationModel;

namespace Avatar.Hosting;

/// <summary>Adds projects, executables and parameters to the application.</summary>
public static class ProcessResourceExtensions
{
    /// <summary>Adds a .NET project; <typeparamref name="TProject"/> is generated from a ProjectReference marked IsAvatarProjectResource.</summary>
    public static IResourceBuilder<ProjectResource> AddProject<TProject>(this DistributedApplicationBuilder builder, string name)
        where TProject : IProjectMetadata, new()
        => builder.AddResource(new ProjectResource(name, new TProject()));

    /// <summary>Adds a .NET project by the path of its .csproj, relative to the AppHost directory.</summary>
    public static IResourceBuilder<ProjectResource> AddProject(this DistributedApplicationBuilder builder, string name, string projectPath)
    {
        var full = Path.GetFullPath(projectPath, builder.AppHostDirectory);
        return builder.AddResource(new ProjectResource(name, new PathProjectMetadata(full, builder.Configuration["Configuration"] ?? "Debug")));
    }

    /// <summary>Adds a program to run, with its working directory relative to the AppHost directory.</summary>
    public static IResourceBuilder<ExecutableResource> AddExecutable(this DistributedApplicationBuilder builder, string name, string command,
        string workingDirectory, params string[] args)
    {
        var resource = builder.AddResource(new ExecutableResource(name, command, Path.GetFullPath(workingDirectory, builder.AppHostDirectory)));
        return args.Length == 0 ? resource : resource.WithArgs(args);
    }

    /// <summary>Adds a parameter read from configuration <c>Parameters:{name}</c> (env <c>Parameters__{name}</c>).</summary>
    public static IResourceBuilder<ParameterResource> AddParameter(this DistributedApplicationBuilder builder, string name, bool secret = false)
        => builder.AddResource(new ParameterResource(name, secret));

    /// <summary>Adds a secret parameter that is generated once (unless configured) and kept in the state directory.</summary>
    public static IResourceBuilder<ParameterResource> AddGeneratedSecret(this DistributedApplicationBuilder builder, string name, int length = 24)
        => builder.AddResource(new ParameterResource(name, secret: true, () => GeneratePassword(length)));

    internal static string GeneratePassword(int length)
    {
        // Letters and digits only: the value goes into connection strings and command lines unquoted.
        const string alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
        return RandomNumberGenerator.GetString(alphabet, length);
    }

    private sealed record PathProjectMetadata(string ProjectPath, string Configuration) : IProjectMetadata
    {
        public string AssemblyPath => Path.Combine(Path.GetDirectoryName(ProjectPath)!, "bin", Configuration, "net10.0",
            Path.GetFileNameWithoutExtension(ProjectPath) + ".dll");
    }
}
