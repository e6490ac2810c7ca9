using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Avatar.Bench;

/// <summary>
/// The load group's peer: the Api's character read and write with nothing but Kestrel and Npgsql (no service defaults,
/// telemetry, validation or problem details), on the same database, the same two statements each. Run as a process of
/// its own, like the Api.
/// </summary>
public static class LoadPeer
{
    public const string Mode = "load-peer";

    public static async Task ServeAsync(string connectionString)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var db = NpgsqlDataSource.Create(connectionString);
        var app = builder.Build();
        app.MapGet("/v1/characters/{id:guid}", async (Guid id, HttpContext context) =>
        {
            if (await UserAsync(db, context) is not { } user)
            {
                return Results.Unauthorized();
            }
            await using var command = db.CreateCommand("SELECT id, name, kind, persona, voice FROM characters WHERE id = $1 AND user_id = $2");
            command.Parameters.Add(new NpgsqlParameter { Value = id });
            command.Parameters.Add(new NpgsqlParameter { Value = user });
            await using var reader = await command.ExecuteReaderAsync();
            return await reader.ReadAsync()
                ? Results.Ok(new PeerCharacter(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4)))
                : Results.NotFound();
        });
        app.MapPost("/v1/characters", async (PeerCharacter body, HttpContext context) =>
        {
            if (await UserAsync(db, context) is not { } user)
            {
                return Results.Unauthorized();
            }
            var created = body with { Id = Guid.CreateVersion7() };
            await using var command = db.CreateCommand(
                "INSERT INTO characters (id, user_id, name, kind, persona, voice, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, now(), now())");
            foreach (var value in (object[])[created.Id, user, created.Name, created.Kind, created.Persona, created.Voice])
            {
                command.Parameters.Add(new NpgsqlParameter { Value = value });
            }
            await command.ExecuteNonQueryAsync();
            return Results.Created($"/v1/characters/{created.Id}", created);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        Console.WriteLine($"listening {new Uri(address).Port}");
        await app.WaitForShutdownAsync();
    }

    private static async Task<Guid?> UserAsync(NpgsqlDataSource db, HttpContext context)
    {
        if (context.Request.Headers["X-Api-Key"].ToString() is not { Length: > 0 } key)
        {
            return null;
        }
        await using var command = db.CreateCommand("SELECT id FROM users WHERE api_key_hash = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = SHA256.HashData(Encoding.UTF8.GetBytes(key)) });
        return await command.ExecuteScalarAsync() as Guid?;
    }

    public sealed record PeerCharacter(Guid Id, string Name, string Kind, string Persona, string Voice);
}
