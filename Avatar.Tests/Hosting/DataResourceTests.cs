using System.Net.Sockets;
using System.Text;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Avatar.Hosting;
using Npgsql;

namespace Avatar.Tests.Hosting;

/// <summary>The native PostgreSQL and Redis resources, each in an application of its own.</summary>
public sealed class DataResourceTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private readonly string _data = Path.Combine(Path.GetTempPath(), "avatar-tests", "data-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task PostgresCreatesTheDatabaseListensOnLoopbackAndAcceptsOnlyItsPassword()
    {
        await using var app = await StartPostgresAsync();

        var connectionString = await app.GetConnectionStringAsync("appdb");
        Assert.Equal("appdb 127.0.0.1", await ExecuteAsync(connectionString,
            "SELECT current_database() || ' ' || (SELECT setting FROM pg_settings WHERE name = 'listen_addresses')"));

        var wrong = new NpgsqlConnectionStringBuilder(connectionString) { Password = "not-the-password" };
        var error = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(wrong.ConnectionString, "SELECT 1"));
        Assert.Equal("28P01", error.SqlState); // invalid_password
    }

    [Fact]
    public async Task PostgresKeepsItsDataAcrossAStopAndStart()
    {
        await using var app = await StartPostgresAsync();
        var connectionString = await app.GetConnectionStringAsync("appdb");
        await ExecuteAsync(connectionString, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')");

        await app.StopResourceAsync("pg");
        await app.StartResourceAsync("pg");
        // The database can still show the stop's failed state when the wait begins (one clean run saw "failed to start"):
        // wait through it; the timeout still bounds the wait.
        await app.ResourceNotifications.WaitForResourceHealthyAsync("appdb", Aspire.Hosting.ApplicationModel.WaitBehavior.WaitOnResourceUnavailable).WaitAsync(s_timeout);

        Assert.Equal("still here", await ExecuteAsync(connectionString, "SELECT v FROM kept"));
    }

    [Fact]
    public async Task PostgresTakesANewPasswordForDataMadeWithAnOldOne()
    {
        await using (var first = await StartPostgresAsync("first-password-1234567890"))
        {
            await ExecuteAsync(await first.GetConnectionStringAsync("appdb"), "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')");
        }

        await using var second = await StartPostgresAsync("second-password-0987654321");

        var connectionString = await second.GetConnectionStringAsync("appdb");
        Assert.Contains("second-password-0987654321", connectionString);
        Assert.Equal("still here", await ExecuteAsync(connectionString, "SELECT v FROM kept"));
    }

    [Fact]
    public async Task RedisRefusesClientsWithoutThePassword()
    {
        var builder = await AvatarTesting.CreateEmptyBuilderAsync($"--Avatar:DataDirectory={_data}");
        builder.AddNativeRedis("cache");
        await using var app = await builder.StartAsync(s_timeout, "cache");

        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", app.GetEndpoint("cache", "tcp").Port);
        await client.GetStream().WriteAsync("*1\r\n$4\r\nPING\r\n"u8.ToArray());
        var buffer = new byte[128];
        var read = await client.GetStream().ReadAsync(buffer);

        Assert.StartsWith("-NOAUTH", Encoding.ASCII.GetString(buffer, 0, read));
        var password = (await app.GetConnectionStringAsync("cache"))!.Split("password=")[1];
        Assert.DoesNotContain(password, await ProcessCommandLinesAsync(app, "cache"));
    }

    private async Task<DistributedApplication> StartPostgresAsync(string? password = null)
    {
        List<string> args = [$"--Avatar:DataDirectory={_data}"];
        if (password is not null)
        {
            args.Add($"--Parameters:pg-password={password}");
        }
        var builder = await AvatarTesting.CreateEmptyBuilderAsync([.. args]);
        builder.AddNativePostgres("pg").AddDatabase("appdb");
        return await builder.StartAsync(s_timeout, "appdb");
    }

    private static async Task<string> ProcessCommandLinesAsync(DistributedApplication app, string resource) =>
        string.Join('\n', (await app.ProcessIdsAsync(resource)).Select(pid => File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ')));

    private static async Task<object?> ExecuteAsync(string? connectionString, string sql)
    {
        // Unpooled: a pooled connection would outlive the server restart under test.
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    public void Dispose()
    {
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }
}
