using System.Net.Sockets;
using System.Text;
using Avatar.Hosting;
using Avatar.Hosting.Testing;
using Npgsql;

namespace Avatar.Tests.Hosting;

public sealed class DataResourceTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task PostgresCreatesTheDatabaseAndAcceptsOnlyItsPassword()
    {
        await using var app = await StartPostgresAsync();

        var connectionString = await app.GetConnectionStringAsync("appdb");
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT current_database() || ' ' || (SELECT setting FROM pg_settings WHERE name = 'listen_addresses')", connection);
            Assert.Equal("appdb 127.0.0.1", await command.ExecuteScalarAsync());
        }

        var wrong = new NpgsqlConnectionStringBuilder(connectionString) { Password = "not-the-password" };
        var error = await Assert.ThrowsAsync<PostgresException>(async () =>
        {
            await using var connection = new NpgsqlConnection(wrong.ConnectionString);
            await connection.OpenAsync();
        });
        Assert.Equal("28P01", error.SqlState); // invalid_password
    }

    [Fact]
    public async Task PostgresKeepsItsDataAndPasswordAcrossAStopAndStart()
    {
        await using var app = await StartPostgresAsync();
        var connectionString = await app.GetConnectionStringAsync("appdb");
        await ExecuteAsync(connectionString, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')");

        await app.StopResourceAsync("pg");
        await app.StartResourceAsync("pg");
        // The server itself: the database's own state may not have caught up with a stop this short.
        await app.ResourceNotifications.WaitForResourceHealthyAsync("pg").WaitAsync(s_timeout);

        Assert.Equal("still here", await ExecuteAsync(connectionString, "SELECT v FROM kept"));
    }

    [Fact]
    public async Task RedisRefusesClientsWithoutThePassword()
    {
        var builder = DistributedApplicationTestingBuilder.Create();
        builder.Builder.AddRedis("cache");
        await using var app = await builder.BuildAsync();
        await app.StartAsync();
        await app.ResourceNotifications.WaitForResourceHealthyAsync("cache").WaitAsync(s_timeout);

        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", app.GetEndpoint("cache").Port);
        await client.GetStream().WriteAsync("*1\r\n$4\r\nPING\r\n"u8.ToArray());
        var buffer = new byte[128];
        var read = await client.GetStream().ReadAsync(buffer);

        Assert.StartsWith("-NOAUTH", Encoding.ASCII.GetString(buffer, 0, read));
    }

    private static async Task<DistributedApplication> StartPostgresAsync()
    {
        var builder = DistributedApplicationTestingBuilder.Create();
        builder.Builder.AddPostgres("pg").AddDatabase("appdb");
        var app = await builder.BuildAsync();
        await app.StartAsync();
        await app.ResourceNotifications.WaitForResourceHealthyAsync("appdb").WaitAsync(s_timeout);
        return app;
    }

    private static async Task<object?> ExecuteAsync(string? connectionString, string sql)
    {
        // Unpooled: a pooled connection would outlive the server restart under test.
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
