using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Avatar.Hosting;

/// <summary>
/// A PostgreSQL server run from the machine's own server binaries: what <c>AddPostgres</c> is in run mode on a machine
/// without a container runtime. Clients reach it on 127.0.0.1 with a password; the AppHost reaches it over a Unix socket
/// inside its data folder, which only the server's user (and root) can enter.
/// </summary>
public sealed class NativePostgresServerResource(string name, string command, string dataDirectory, ParameterResource password)
    : ExecutableResource(name, command, Path.GetDirectoryName(dataDirectory)!), IResourceWithConnectionString
{
    internal const string PrimaryEndpointName = "tcp";
    private readonly Dictionary<string, string> _databases = [];
    private EndpointReference? _primaryEndpoint;

    /// <summary>The server's data folder (<c>PGDATA</c>); its Unix socket lives there too.</summary>
    public string DataDirectory { get; } = dataDirectory;

    /// <summary>The superuser's name.</summary>
    public string UserName => "postgres";

    /// <summary>The superuser's password: a generated secret, kept in the AppHost's user secrets, unless configured.</summary>
    public ParameterResource PasswordParameter { get; } = password;

    /// <summary>The endpoint clients connect to.</summary>
    public EndpointReference PrimaryEndpoint => _primaryEndpoint ??= new(this, PrimaryEndpointName);

    /// <summary>Databases to create once the server answers: resource name to database name.</summary>
    public IReadOnlyDictionary<string, string> Databases => _databases;

    /// <inheritdoc />
    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"Host={PrimaryEndpoint.Property(EndpointProperty.Host)};Port={PrimaryEndpoint.Property(EndpointProperty.Port)};Username={UserName};Password={PasswordParameter}");

    internal void AddDatabase(string resourceName, string databaseName) => _databases[resourceName] = databaseName;
}

/// <summary>A database inside a <see cref="NativePostgresServerResource"/>, created when the server first answers.</summary>
public sealed class NativePostgresDatabaseResource(string name, string databaseName, NativePostgresServerResource parent)
    : Resource(name), IResourceWithParent<NativePostgresServerResource>, IResourceWithConnectionString
{
    /// <summary>The database's name on the server.</summary>
    public string DatabaseName { get; } = databaseName;

    /// <inheritdoc />
    public NativePostgresServerResource Parent { get; } = parent;

    /// <inheritdoc />
    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create($"{Parent};Database={DatabaseName}");
}

/// <summary>PostgreSQL for the AppHost: native in run mode, Aspire's container when published.</summary>
public static class NativePostgresBuilderExtensions
{
    /// <summary>
    /// Adds a PostgreSQL server named <paramref name="serverName"/> with one database, <paramref name="databaseName"/>, and
    /// returns the database. In run mode the server is the machine's own PostgreSQL (<c>AVATAR_POSTGRES_BIN</c>, else the
    /// newest <c>/usr/lib/postgresql/*/bin</c>), with its data in <c>.avatar/{serverName}</c>; published, it is
    /// <c>AddPostgres</c>'s container with a data volume.
    /// </summary>
    public static IResourceBuilder<IResourceWithConnectionString> AddPostgresDatabase(this IDistributedApplicationBuilder builder,
        string serverName, string databaseName)
    {
        if (builder.ExecutionContext.IsPublishMode)
        {
            return builder.AddPostgres(serverName).WithDataVolume().AddDatabase(databaseName);
        }
        var server = builder.AddNativePostgres(serverName);
        return server.AddDatabase(databaseName);
    }

    /// <summary>Adds a PostgreSQL server run from the machine's own binaries.</summary>
    public static IResourceBuilder<NativePostgresServerResource> AddNativePostgres(this IDistributedApplicationBuilder builder, string name)
    {
        var password = ParameterResourceBuilderExtensions.CreateDefaultPasswordParameter(builder, $"{name}-password", special: false);
        var dataDirectory = NativeState.ReachableByPostgres(Path.Combine(NativeState.Root(builder), name), out var moved);
        var binDirectory = FindBinDirectory();
        var postgres = Path.Combine(binDirectory, "postgres");
        // PostgreSQL refuses to run as root: as root, both initdb and the server run as the postgres user.
        var server = new NativePostgresServerResource(name, NativeState.IsRoot ? "setpriv" : postgres, Path.Combine(dataDirectory, "data"), password);
        var ephemeral = NativeState.IsEphemeral(builder);

        // One instance: the database inherits this check from its server, and the two must not prepare at once.
        var healthCheck = new NativePostgresHealthCheck(server);
        var healthCheckKey = $"{name}_check";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(healthCheckKey, _ => healthCheck, failureStatus: default, tags: default));

        builder.Eventing.Subscribe<BeforeResourceStartedEvent>(server, async (@event, cancellationToken) =>
        {
            var logger = @event.Services.GetRequiredService<ResourceLoggerService>().GetLogger(server);
            if (moved)
            {
                logger.LogInformation("The postgres user cannot reach {Preferred}; keeping the data in {DataDirectory}", NativeState.Root(builder), server.DataDirectory);
            }
            await InitializeAsync(server, binDirectory, ephemeral, logger, cancellationToken).ConfigureAwait(false);
        });

        return builder.AddResource(server)
            .WithEndpoint(name: NativePostgresServerResource.PrimaryEndpointName, scheme: "tcp")
            .WithArgs(context =>
            {
                if (NativeState.IsRoot)
                {
                    foreach (var arg in (string[])["--reuid=postgres", "--regid=postgres", "--init-groups", "--", postgres])
                    {
                        context.Args.Add(arg);
                    }
                }
                foreach (var arg in (string[])["-D", server.DataDirectory, "-c", "listen_addresses=127.0.0.1",
                    "-c", $"unix_socket_directories={server.DataDirectory}", "-c", "max_connections=300"])
                {
                    context.Args.Add(arg);
                }
                context.Args.Add("-p");
                context.Args.Add(server.PrimaryEndpoint.Property(EndpointProperty.TargetPort));
                if (ephemeral)
                {
                    foreach (var arg in (string[])["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
                    {
                        context.Args.Add(arg);
                    }
                }
            })
            .WithHealthCheck(healthCheckKey);
    }

    /// <summary>Adds a database, created once the server answers; it is as healthy as the server and reachable with its password.</summary>
    public static IResourceBuilder<NativePostgresDatabaseResource> AddDatabase(this IResourceBuilder<NativePostgresServerResource> server,
        string name, string? databaseName = null)
    {
        var builder = server.ApplicationBuilder;
        var database = new NativePostgresDatabaseResource(name, databaseName ?? name, server.Resource);
        server.Resource.AddDatabase(name, database.DatabaseName);

        var healthCheckKey = $"{name}_check";
        builder.Services.AddHealthChecks().AddNpgSql(NativeState.ConnectionStringWhenAvailable(builder, database), name: healthCheckKey);

        // Aspire gives a child its parent's state only when the parent is a container: mirror it here, so that what
        // waits for the database starts once the server runs and the database answers.
        builder.Eventing.Subscribe<InitializeResourceEvent>(database, (@event, cancellationToken) =>
        {
            _ = NativeResourceState.MirrorParentAsync(database, server.Resource, @event.Notifications, @event.Services);
            return Task.CompletedTask;
        });

        return builder.AddResource(database)
            .WithInitialState(new CustomResourceSnapshot { ResourceType = "PostgresDatabase", State = KnownResourceStates.NotStarted, Properties = [] })
            .WithHealthCheck(healthCheckKey);
    }

    private static async Task InitializeAsync(NativePostgresServerResource server, string binDirectory, bool ephemeral, ILogger logger,
        CancellationToken cancellationToken)
    {
        var dataDirectory = server.DataDirectory;
        Directory.CreateDirectory(Path.GetDirectoryName(dataDirectory)!);
        await StopOrphanAsync(dataDirectory, logger, cancellationToken).ConfigureAwait(false);
        if (File.Exists(Path.Combine(dataDirectory, "PG_VERSION")))
        {
            return;
        }
        Directory.CreateDirectory(dataDirectory);
        var passwordFile = Path.Combine(Path.GetDirectoryName(dataDirectory)!, "pwfile");
        var password = await server.PasswordParameter.GetValueAsync(cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(passwordFile, password, cancellationToken).ConfigureAwait(false);
        File.SetUnixFileMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        try
        {
            if (NativeState.IsRoot)
            {
                var (chownExit, chownOutput) = await NativeState.RunAsync(["chown", "-R", "postgres:postgres", dataDirectory, passwordFile], cancellationToken)
                    .ConfigureAwait(false);
                if (chownExit != 0)
                {
                    throw new DistributedApplicationException($"chown to the postgres user failed: {chownOutput}");
                }
            }
            logger.LogInformation("initdb {DataDirectory}", dataDirectory);
            // Password logins over TCP; the Unix socket (inside the data folder) trusts whoever can reach it: the
            // server's user and root, which is how the AppHost keeps the password and databases in step.
            List<string> initdb = [Path.Combine(binDirectory, "initdb"), "-D", dataDirectory, "-U", server.UserName,
                "--auth-host=scram-sha-256", "--auth-local=trust", $"--pwfile={passwordFile}", "-E", "UTF8", "--locale=C"];
            if (ephemeral)
            {
                initdb.Add("--no-sync");
            }
            var (exitCode, output) = await NativeState.RunAsync(AsPostgresUser(initdb), cancellationToken).ConfigureAwait(false);
            if (exitCode != 0)
            {
                Directory.Delete(dataDirectory, recursive: true);
                throw new DistributedApplicationException($"initdb failed with exit code {exitCode}: {output}");
            }
        }
        finally
        {
            File.Delete(passwordFile);
        }
    }

    /// <summary>A postgres left running by an AppHost that was killed holds the data folder's lock: stop it first.</summary>
    private static async Task StopOrphanAsync(string dataDirectory, ILogger logger, CancellationToken cancellationToken)
    {
        var pidFile = Path.Combine(dataDirectory, "postmaster.pid");
        if (!File.Exists(pidFile)
            || !int.TryParse((await File.ReadAllLinesAsync(pidFile, cancellationToken).ConfigureAwait(false)).FirstOrDefault(), out var pid)
            || !IsAlive(pid))
        {
            return;
        }
        logger.LogWarning("Stopping a postgres left over from an earlier run (pid {Pid})", pid);
        // SIGINT is PostgreSQL's fast shutdown: SIGTERM would wait for every client to disconnect.
        await NativeState.RunAsync(["kill", "-INT", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)], cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < 100 && IsAlive(pid); i++)
        {
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }

    private static bool IsAlive(int pid) => Directory.Exists($"/proc/{pid}");

    private static List<string> AsPostgresUser(List<string> command) =>
        NativeState.IsRoot ? ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", .. command] : command;

    private static string FindBinDirectory()
    {
        if (Environment.GetEnvironmentVariable("AVATAR_POSTGRES_BIN") is { Length: > 0 } configured)
        {
            return configured;
        }
        var candidates = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "postgres")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0).ToList()
            : [];
        return candidates.FirstOrDefault() ?? throw new DistributedApplicationException(
            "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin: install postgresql (make run does), or set AVATAR_POSTGRES_BIN.");
    }
}

/// <summary>
/// Healthy when the server answers on its Unix socket; the first answer after each start also sets the superuser's
/// password to the parameter's value (so a changed or regenerated secret never locks the data out) and creates the
/// server's databases.
/// </summary>
internal sealed class NativePostgresHealthCheck(NativePostgresServerResource server) : IHealthCheck
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private string? _preparedStart;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await CheckAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<HealthCheckResult> CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            // The port is allocated when the process starts, and only the server knows it: postmaster.pid has it on its
            // fourth line, with the time the server started on its third (a new start is prepared again).
            var pidFile = Path.Combine(server.DataDirectory, "postmaster.pid");
            if (!File.Exists(pidFile))
            {
                return HealthCheckResult.Unhealthy("The server is not running (no postmaster.pid).");
            }
            var lines = await File.ReadAllLinesAsync(pidFile, cancellationToken).ConfigureAwait(false);
            if (lines.Length < 4 || !int.TryParse(lines[3], out var port))
            {
                return HealthCheckResult.Unhealthy("The server is starting.");
            }
            var socket = new NpgsqlConnectionStringBuilder
            {
                Host = server.DataDirectory,
                Port = port,
                Username = server.UserName,
                Database = "postgres",
                Pooling = false,
                Timeout = 3,
            };
            await using var connection = new NpgsqlConnection(socket.ConnectionString);
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            if (_preparedStart != lines[2])
            {
                await PrepareAsync(connection, cancellationToken).ConfigureAwait(false);
                _preparedStart = lines[2];
            }
            await using var ping = new NpgsqlCommand("SELECT 1", connection);
            await ping.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is NpgsqlException or IOException or System.Net.Sockets.SocketException or TimeoutException)
        {
            _preparedStart = null;
            return HealthCheckResult.Unhealthy(ex.Message, ex);
        }
    }

    private async Task PrepareAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        // Utility statements take no parameters, so the password is a quoted literal: keep this session's statements
        // out of the server's log, even when one fails.
        await using (var quiet = new NpgsqlCommand("SET log_min_error_statement = panic; SET log_statement = 'none'", connection))
        {
            await quiet.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        var password = await server.PasswordParameter.GetValueAsync(cancellationToken).ConfigureAwait(false);
        await using (var alter = new NpgsqlCommand($"ALTER ROLE {Quote(server.UserName, '"')} PASSWORD {Quote(password!, '\'')}", connection))
        {
            await alter.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        foreach (var databaseName in server.Databases.Values)
        {
            await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection) { Parameters = { new() { Value = databaseName } } };
            if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
            {
                await using var create = new NpgsqlCommand($"CREATE DATABASE {Quote(databaseName, '"')}", connection);
                await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static string Quote(string value, char quote) => $"{quote}{value.Replace(quote.ToString(), new string(quote, 2), StringComparison.Ordinal)}{quote}";
}
