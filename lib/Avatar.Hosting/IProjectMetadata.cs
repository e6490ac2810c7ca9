namespace Avatar.Hosting;

/// <summary>
/// Where a service project lives and where its build output is. Generated as <c>Projects.&lt;Name&gt;</c>
/// for each ProjectReference marked <c>IsAvatarProjectResource="true"</c> (see build/Avatar.Hosting.targets).
/// </summary>
public interface IProjectMetadata
{
    /// <summary>Absolute path of the .csproj file.</summary>
    string ProjectPath { get; }

    /// <summary>Absolute path of the built assembly for the configuration the host was built with.</summary>
    string AssemblyPath { get; }
}
