using Avatar.Hosting.ApplicationModel;

namespace Avatar.Hosting;

/// <summary>A PostgreSQL server: local server binaries in run mode, the postgres image when published.</summary>
public sealed class PostgresServerResource(string name, ParameterResource password) : Resource(name), IResourceWithConnectionString
{
    /// <summary>The image used when published to containers.</summary>
    public const string Image = "docker.io/library/postgres:17.6";

    /// <summary>The superuser name.</summary>
    public string UserName => "postgres";

    /// <summary>The superuser password (a generated secret unless configured).</summary>
    public ParameterResource Password { get; } = password;

    /// <summary>Databases created on this server once it is up.</summary>
    public List<PostgresDatabaseResource> Databases { get; } = [];

    /// <summary>The server's endpoint.</summary>
    public EndpointAnnotation Endpoint => AnnotationsOf<EndpointAnnotation>().Single();

    /// <inheritdoc />
    public string GetConnectionString()
        => $"Host=127.0.0.1;Port={Endpoint.AllocatedPort};Username={UserName};Password={Password.Value}";

    /// <inheritdoc />
    public override string TypeName => "Postgres";
}

/// <summary>A database inside a <see cref="PostgresServerResource"/>, created when the server is first healthy.</summary>
public sealed class PostgresDatabaseResource(string name, string databaseName, PostgresServerResource parent)
    : Resource(name), IResourceWithConnectionString, IResourceWithParent
{
    /// <summary>The database's name on the server.</summary>
    public string DatabaseName { get; } = databaseName;

    /// <summary>The server.</summary>
    public PostgresServerResource Server { get; } = parent;

    Resource IResourceWithParent.Parent => Server;

    /// <inheritdoc />
    public string GetConnectionString() => $"{Server.GetConnectionString()};Database={DatabaseName}";

    /// <inheritdoc />
    public override string TypeName => "PostgresDatabase";
}

/// <summary>Adds PostgreSQL to the application.</summary>
public static class PostgresBuilderExtensions
{
    /// <summary>Adds a PostgreSQL server; its password is <paramref name="password"/> or a generated secret named <c>{name}-password</c>.</summary>
    public static IResourceBuilder<PostgresServerResource> AddPostgres(this DistributedApplicationBuilder builder, string name,
        IResourceBuilder<ParameterResource>? password = null, int? port = null)
    {
        var passwordParameter = password?.Resource ?? builder.AddGeneratedSecret($"{name}-password").Resource;
        return builder.AddResource(new PostgresServerResource(name, passwordParameter))
            .WithEndpoint(port, scheme: "tcp", name: "tcp");
    }

    /// <summary>Adds a database to the server; it is created (if missing) once the server is healthy.</summary>
    public static IResourceBuilder<PostgresDatabaseResource> AddDatabase(this IResourceBuilder<PostgresServerResource> builder, string name,
        string? databaseName = null)
    {
        var database = new PostgresDatabaseResource(name, databaseName ?? name, builder.Resource);
        builder.Resource.Databases.Add(database);
        return builder.ApplicationBuilder.AddResource(database);
    }
}
