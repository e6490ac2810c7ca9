using System.Diagnostics;
using Npgsql;

namespace Avatar.Hosting.Orchestration;

/// <summary>
/// Runs PostgreSQL from the machine's server binaries: initdb on first run (scram-sha-256, the generated password),
/// then postgres on 127.0.0.1 only. PostgreSQL refuses to run as root, so as root both run as the postgres user.
/// </summary>
internal sealed class PostgresRunner(PostgresServerResource server, OrchestratorContext context) : ProcessRunner(server, context)
{
    private string? _binDirectory;
    private string? _dataDirectory;

    public override bool IsInfrastructure => true;

    protected override async Task PrepareAsync(CancellationToken cancellationToken)
    {
        _binDirectory ??= FindBinDirectory();
        _dataDirectory ??= DataLocation.Resolve(Path.Combine(Context.StateDirectory, server.Name), Context.Logs, server.Name);
        await StopOrphanAsync(cancellationToken).ConfigureAwait(false);
        if (File.Exists(Path.Combine(_dataDirectory, "PG_VERSION")))
        {
            return;
        }
        Directory.CreateDirectory(_dataDirectory);
        var passwordFile = Path.Combine(Path.GetDirectoryName(_dataDirectory)!, "pwfile");
        await File.WriteAllTextAsync(passwordFile, server.Password.Value, cancellationToken).ConfigureAwait(false);
        File.SetUnixFileMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        try
        {
            await DataLocation.GiveToPostgresAsync([_dataDirectory, passwordFile], cancellationToken).ConfigureAwait(false);
            Context.Logs.Add(server.Name, server.Name, $"initdb {_dataDirectory}");
            string[] initdb = [Path.Combine(_binDirectory, "initdb"), "-D", _dataDirectory, "-U", server.UserName,
                "--auth=scram-sha-256", $"--pwfile={passwordFile}", "-E", "UTF8", "--locale=C", .. Context.Options.Ephemeral ? ["--no-sync"] : Array.Empty<string>()];
            var (exitCode, output) = await RunToEndAsync(AsPostgresUser(initdb), cancellationToken).ConfigureAwait(false);
            if (exitCode != 0)
            {
                Directory.Delete(_dataDirectory, recursive: true);
                throw new InvalidOperationException($"initdb failed with exit code {exitCode}: {output}");
            }
        }
        finally
        {
            File.Delete(passwordFile);
        }
    }

    protected override ProcessSpec CreateSpec(int replica)
    {
        List<string> args = [Path.Combine(_binDirectory!, "postgres"), "-D", _dataDirectory!,
            "-p", server.Endpoint.ReplicaPorts[0].ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "max_connections=300"];
        if (Context.Options.Ephemeral)
        {
            args.AddRange(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]);
        }
        var command = AsPostgresUser(args);
        // SIGINT is PostgreSQL's "fast shutdown": SIGTERM would wait for every client to disconnect.
        return new ProcessSpec(command[0], command[1..], _dataDirectory!, new Dictionary<string, string>(), Native.SIGINT);
    }

    protected override async Task<bool> ProbeAsync(int replica, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(server.GetConnectionString()) { Pooling = false, Timeout = 2 };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("SELECT 1", connection);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is 1;
    }

    /// <summary>A postgres left running by an AppHost that was killed holds the data folder's lock: stop it first.</summary>
    private async Task StopOrphanAsync(CancellationToken cancellationToken)
    {
        var pidFile = Path.Combine(_dataDirectory!, "postmaster.pid");
        if (Processes.Any(p => p.Pid is not null) || !File.Exists(pidFile)
            || !int.TryParse((await File.ReadAllLinesAsync(pidFile, cancellationToken).ConfigureAwait(false)).FirstOrDefault(), out var pid)
            || !Native.IsAlive(pid))
        {
            return;
        }
        Context.Logs.Add(server.Name, server.Name, $"stopping a postgres left over from an earlier run (pid {pid})", isError: true);
        Native.Signal(pid, Native.SIGINT);
        for (var i = 0; i < 100 && Native.IsAlive(pid); i++)
        {
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }

    private static string[] AsPostgresUser(IReadOnlyList<string> command) =>
        Native.IsRoot ? ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", .. command] : [.. command];

    private static async Task<(int ExitCode, string Output)> RunToEndAsync(string[] command, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in command[1..])
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        return (process.ExitCode, (await stdout.ConfigureAwait(false)) + (await stderr.ConfigureAwait(false)));
    }

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
        return candidates.FirstOrDefault() ?? throw new FileNotFoundException(
            "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin: install postgresql (make run does), or set AVATAR_POSTGRES_BIN.");
    }
}

/// <summary>Creates a database once its server is healthy, and mirrors the server's health afterwards.</summary>
internal sealed class PostgresDatabaseRunner(PostgresDatabaseResource database, OrchestratorContext context) : ResourceRunner(database, context)
{
    protected override async Task RunAsync(CancellationToken cancellationToken)
    {
        var notifications = Context.Notifications;
        while (true)
        {
            Publish(KnownResourceStates.Waiting);
            await notifications.WaitForResourceHealthyAsync(database.Server.Name, cancellationToken).ConfigureAwait(false);
            try
            {
                await EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (NpgsqlException ex)
            {
                Context.Logs.Add(database.Name, database.Name, $"could not create database: {ex.Message}", isError: true);
                await Task.Delay(500, cancellationToken).ConfigureAwait(false);
                continue;
            }
            Publish(KnownResourceStates.Running, healthy: true);
            await notifications.WaitForResourceAsync(database.Server.Name, s => !s.Healthy, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(database.Server.GetConnectionString()) { Pooling = false, Timeout = 5 };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection)
        {
            Parameters = { new() { Value = database.DatabaseName } },
        };
        if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
        {
            // Identifiers cannot be parameters: quote it, doubling any quote inside.
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{database.DatabaseName.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", connection);
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            Context.Logs.Add(database.Name, database.Name, $"created database {database.DatabaseName}");
        }
    }
}
