using System.Security.Claims;
using Avatar.Api.Infrastructure;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Avatar.Api.Facts;

/// <summary>Something the user said about themselves, extracted by the worker when a session ended.</summary>
public sealed record Fact(Guid Id, string Text, Guid? SourceSessionId, DateTime CreatedAt);

/// <summary>/v1/facts: what the characters remember about the user, which the user can read and forget.</summary>
public static class FactsApi
{
    /// <summary>Maps the endpoints.</summary>
    public static RouteGroupBuilder MapFactsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/facts").WithTags("Facts").RequireAuthorization().RequireRateLimiting(ApiRateLimiting.PerKey);
        group.MapGet("/", List);
        group.MapDelete("/{id:guid}", Forget);
        return group;
    }

    /// <summary>The user's facts, oldest first, a page at a time.</summary>
    public static Task<Results<Ok<Page<Fact>>, ValidationProblem>> List(ClaimsPrincipal user, NpgsqlDataSource db, int? limit, Guid? after) =>
        Paging.QueryAsync<Fact>(db, "SELECT id, text, source_session_id AS sourcesessionid, created_at AS createdat FROM facts WHERE user_id = @UserId",
            new { UserId = user.UserId() }, limit, after, f => f.Id);

    /// <summary>Forgets one fact.</summary>
    public static async Task<Results<NoContent, NotFound>> Forget(Guid id, ClaimsPrincipal user, NpgsqlDataSource db)
    {
        await using var connection = await db.OpenConnectionAsync();
        var deleted = await connection.ExecuteAsync("DELETE FROM facts WHERE id = @Id AND user_id = @UserId", new { Id = id, UserId = user.UserId() });
        return deleted == 0 ? TypedResults.NotFound() : TypedResults.NoContent();
    }
}
