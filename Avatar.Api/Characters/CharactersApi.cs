using System.ComponentModel;
using System.Security.Claims;
using Avatar.Api.Infrastructure;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Avatar.Api.Characters;

/// <summary>What a client sends to create or replace a character.</summary>
/// <param name="Name">1 to 100 characters.</param>
/// <param name="Kind">tarot, custom_chat, blind_date or concierge: decides the character's behaviour.</param>
/// <param name="Persona">Who the character is, in prose, up to 4000 characters.</param>
/// <param name="Voice">A TTS voice name (for the embedded espeak-ng: "en-us", "en+f3"...); optional, "en-us" when left out.</param>
/// <param name="Greeting">What the character says first, optional.</param>
public sealed record CharacterRequest(string? Name, string? Kind, string? Persona,
    [property: DefaultValue(CharactersApi.DefaultVoice)] string? Voice = CharactersApi.DefaultVoice, string? Greeting = null);

/// <summary>A character.</summary>
public sealed record Character(Guid Id, string Name, string Kind, string Persona, string Voice, string? Greeting, DateTime CreatedAt, DateTime UpdatedAt);

/// <summary>/v1/characters: a user's characters; another user's are invisible (404).</summary>
public static class CharactersApi
{
    /// <summary>The character kinds.</summary>
    public static readonly string[] Kinds = ["tarot", "custom_chat", "blind_date", "concierge"];

    /// <summary>The voice of a character created or replaced without one.</summary>
    public const string DefaultVoice = "en-us";

    private const string Columns = "id, name, kind, persona, voice, greeting, created_at AS createdat, updated_at AS updatedat";

    /// <summary>Maps the endpoints.</summary>
    public static RouteGroupBuilder MapCharactersApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/characters").WithTags("Characters").RequireAuthorization().RequireRateLimiting(ApiRateLimiting.PerKey);
        group.MapPost("/", Create);
        group.MapGet("/", List);
        group.MapGet("/{id:guid}", Get);
        group.MapPut("/{id:guid}", Replace);
        group.MapDelete("/{id:guid}", Delete);
        return group;
    }

    /// <summary>Creates a character.</summary>
    public static async Task<Results<Created<Character>, ValidationProblem>> Create(CharacterRequest request, ClaimsPrincipal user,
        NpgsqlDataSource db, TimeProvider time)
    {
        request = request with { Voice = request.Voice ?? DefaultVoice }; // left out gets the default; sent as null too
        if (Validate(request) is { Count: > 0 } errors)
        {
            return TypedResults.ValidationProblem(errors);
        }
        var now = time.GetUtcNow().UtcDateTime;
        var character = new Character(Guid.CreateVersion7(), request.Name!, request.Kind!, request.Persona!, request.Voice!, request.Greeting, now, now);
        await using var connection = await db.OpenConnectionAsync();
        await connection.ExecuteAsync(
            """
            INSERT INTO characters (id, user_id, name, kind, persona, voice, greeting, created_at, updated_at)
            VALUES (@Id, @UserId, @Name, @Kind, @Persona, @Voice, @Greeting, @CreatedAt, @UpdatedAt)
            """,
            new { character.Id, UserId = user.UserId(), character.Name, character.Kind, character.Persona, character.Voice, character.Greeting, character.CreatedAt, character.UpdatedAt });
        return TypedResults.Created($"/v1/characters/{character.Id}", character);
    }

    /// <summary>The user's characters, oldest first, a page at a time.</summary>
    public static Task<Results<Ok<Page<Character>>, ValidationProblem>> List(ClaimsPrincipal user, NpgsqlDataSource db, int? limit, Guid? after) =>
        Paging.QueryAsync<Character>(db, $"SELECT {Columns} FROM characters WHERE user_id = @UserId", new { UserId = user.UserId() }, limit, after, c => c.Id);

    /// <summary>One character.</summary>
    public static async Task<Results<Ok<Character>, NotFound>> Get(Guid id, ClaimsPrincipal user, NpgsqlDataSource db)
    {
        await using var connection = await db.OpenConnectionAsync();
        var character = await connection.QuerySingleOrDefaultAsync<Character>(
            $"SELECT {Columns} FROM characters WHERE id = @Id AND user_id = @UserId", new { Id = id, UserId = user.UserId() });
        return character is null ? TypedResults.NotFound() : TypedResults.Ok(character);
    }

    /// <summary>Replaces a character's fields.</summary>
    public static async Task<Results<Ok<Character>, NotFound, ValidationProblem>> Replace(Guid id, CharacterRequest request, ClaimsPrincipal user,
        NpgsqlDataSource db, TimeProvider time)
    {
        request = request with { Voice = request.Voice ?? DefaultVoice };
        if (Validate(request) is { Count: > 0 } errors)
        {
            return TypedResults.ValidationProblem(errors);
        }
        await using var connection = await db.OpenConnectionAsync();
        var character = await connection.QuerySingleOrDefaultAsync<Character>(
            $"""
            UPDATE characters SET name = @Name, kind = @Kind, persona = @Persona, voice = @Voice, greeting = @Greeting, updated_at = @Now
            WHERE id = @Id AND user_id = @UserId
            RETURNING {Columns}
            """,
            new { Id = id, UserId = user.UserId(), request.Name, request.Kind, request.Persona, request.Voice, request.Greeting, Now = time.GetUtcNow().UtcDateTime });
        return character is null ? TypedResults.NotFound() : TypedResults.Ok(character);
    }

    /// <summary>Deletes a character with its sessions and their messages.</summary>
    public static async Task<Results<NoContent, NotFound>> Delete(Guid id, ClaimsPrincipal user, NpgsqlDataSource db)
    {
        await using var connection = await db.OpenConnectionAsync();
        var deleted = await connection.ExecuteAsync("DELETE FROM characters WHERE id = @Id AND user_id = @UserId", new { Id = id, UserId = user.UserId() });
        return deleted == 0 ? TypedResults.NotFound() : TypedResults.NoContent();
    }

    private static Dictionary<string, string[]> Validate(CharacterRequest request) => new Validation()
        .Text("name", request.Name, 1, 100)
        .OneOf("kind", request.Kind, Kinds)
        .Text("persona", request.Persona, 1, 4000)
        .Text("voice", request.Voice, 1, 100)
        .OptionalText("greeting", request.Greeting, 1000)
        .Errors;
}
