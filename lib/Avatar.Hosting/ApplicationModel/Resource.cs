namespace Avatar.Hosting.ApplicationModel;

/// <summary>A named part of the distributed application: a database, a cache, a service, a parameter.</summary>
/// <param name="name">Unique name; also the service-discovery and connection-string name.</param>
public abstract class Resource(string name)
{
    /// <summary>The resource's unique name.</summary>
    public string Name { get; } = name;

    /// <summary>What builders said about the resource (endpoints, references, waits, replicas...).</summary>
    public List<IResourceAnnotation> Annotations { get; } = [];

    /// <summary>A short type name for listings, as the Aspire dashboard shows it.</summary>
    public virtual string TypeName => GetType().Name.Replace("Resource", "", StringComparison.Ordinal);

    /// <summary>All annotations of one kind.</summary>
    public IEnumerable<T> AnnotationsOf<T>() where T : IResourceAnnotation => Annotations.OfType<T>();

    /// <inheritdoc />
    public override string ToString() => $"{TypeName} '{Name}'";
}

/// <summary>Marker for everything that can be attached to a resource.</summary>
public interface IResourceAnnotation;

/// <summary>A resource that other resources can reference by connection string.</summary>
public interface IResourceWithConnectionString
{
    /// <summary>The resource's name, used as <c>ConnectionStrings__{name}</c>.</summary>
    string Name { get; }

    /// <summary>The connection string, available once the resource's ports and secrets are allocated.</summary>
    string GetConnectionString();
}

/// <summary>A resource that lives inside another (a database inside a server).</summary>
public interface IResourceWithParent
{
    /// <summary>The containing resource.</summary>
    Resource Parent { get; }
}

/// <summary>A resource that runs as an operating-system process the orchestrator starts.</summary>
public interface IProcessResource;

/// <summary>A resource backed by a .NET project.</summary>
public sealed class ProjectResource(string name, IProjectMetadata project) : Resource(name), IProcessResource
{
    /// <summary>Where the project and its build output are.</summary>
    public IProjectMetadata Project { get; } = project;

    /// <inheritdoc />
    public override string TypeName => "Project";
}

/// <summary>A resource backed by any executable.</summary>
public sealed class ExecutableResource(string name, string command, string workingDirectory) : Resource(name), IProcessResource
{
    /// <summary>The program to run (a path or a name on PATH).</summary>
    public string Command { get; } = command;

    /// <summary>The directory the program runs in.</summary>
    public string WorkingDirectory { get; } = workingDirectory;

    /// <inheritdoc />
    public override string TypeName => "Executable";
}

/// <summary>
/// A value supplied from configuration (<c>Parameters:{name}</c>) or, for generated secrets, created once and kept in
/// the state directory so it survives restarts.
/// </summary>
public sealed class ParameterResource(string name, bool secret, Func<string>? generate = null) : Resource(name)
{
    private string? _value;

    /// <summary>Secrets are masked in listings and never logged.</summary>
    public bool Secret { get; } = secret;

    /// <summary>Produces a value when configuration has none; null when configuration must supply it.</summary>
    internal Func<string>? Generate { get; } = generate;

    /// <summary>The resolved value. Throws until the application is built.</summary>
    public string Value => _value ?? throw new InvalidOperationException(
        $"Parameter '{Name}' has no value yet: values are resolved when the application is built.");

    internal void Resolve(string value) => _value = value;

    internal bool IsResolved => _value is not null;

    /// <inheritdoc />
    public override string TypeName => "Parameter";
}
