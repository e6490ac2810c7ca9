using Npgsql;

namespace Avatar.Api.Data;

/// <summary>
/// Applies the embedded migrations (Data/Migrations/NNNN_name.sql) in order, each in its own transaction, recording them
/// in schema_migrations. An advisory lock makes concurrent runs wait for each other instead of racing; the AppHost runs
/// this once ("Avatar.Api migrate") before any replica starts.
/// </summary>
public static partial class Migrator
{
    private const long LockKey = 0x4176_6174_6172; // "Avatar"

    /// <summary>Applies what is missing; returns the names applied.</summary>
    public static async Task<IReadOnlyList<string>> ApplyAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await ExecuteAsync(connection, $"SELECT pg_advisory_lock({LockKey})", cancellationToken);
        try
        {
            await ExecuteAsync(connection, "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())", cancellationToken);
            var applied = new HashSet<string>();
            await using (var command = new NpgsqlCommand("SELECT name FROM schema_migrations", connection))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    applied.Add(reader.GetString(0));
                }
            }
            var assembly = typeof(Migrator).Assembly;
            var pending = assembly.GetManifestResourceNames()
                .Where(n => n.StartsWith("Migrations.", StringComparison.Ordinal))
                .Select(n => (Resource: n, Name: n["Migrations.".Length..^".sql".Length]))
                .Where(m => !applied.Contains(m.Name))
                .OrderBy(m => m.Name, StringComparer.Ordinal)
                .ToList();
            foreach (var (resource, name) in pending)
            {
                using var reader = new StreamReader(assembly.GetManifestResourceStream(resource)!);
                var sql = await reader.ReadToEndAsync(cancellationToken);
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await ExecuteAsync(connection, sql, cancellationToken);
                await using (var record = new NpgsqlCommand("INSERT INTO schema_migrations (name) VALUES ($1)", connection) { Parameters = { new() { Value = name } } })
                {
                    await record.ExecuteNonQueryAsync(cancellationToken);
                }
                await transaction.CommitAsync(cancellationToken);
            }
            return [.. pending.Select(p => p.Name)];
        }
        finally
        {
            await ExecuteAsync(connection, $"SELECT pg_advisory_unlock({LockKey})", CancellationToken.None);
        }
    }

    /// <summary>The <c>migrate</c> command: applies migrations and exits (0 on success).</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().AddCommandLine(args[1..]).Build();
        var connectionString = configuration.GetConnectionString(Database.ConnectionName)
            ?? throw new InvalidOperationException($"Missing configuration ConnectionStrings:{Database.ConnectionName}.");
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        try
        {
            var applied = await ApplyAsync(dataSource);
            Console.WriteLine(applied.Count == 0 ? "schema is up to date" : $"applied {string.Join(", ", applied)}");
            return 0;
        }
        catch (NpgsqlException ex)
        {
            Console.Error.WriteLine($"migration failed: {ex.Message}");
            return 1;
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
