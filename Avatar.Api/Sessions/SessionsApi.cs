using System.Security.Claims;
using Avatar.Api.Infrastructure;
using Avatar.Jobs;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using StackExchange.Redis;

namespace Avatar.Api.Sessions;

/// <summary>Starts a conversation with one of the user's characters.</summary>
/// <param name="CharacterId">The character to talk to.</param>
public sealed record CreateSessionRequest(Guid? CharacterId);

/// <summary>A conversation.</summary>
public sealed record Session(Guid Id, Guid CharacterId, string Status, DateTime StartedAt, DateTime? EndedAt);

/// <summary>One message of a conversation.</summary>
/// <param name="Role">"user" or "character".</param>
public sealed record Message(Guid Id, string Role, string Text, DateTime CreatedAt);

/// <summary>A single-use credential for opening the session's WebSocket at Avatar.Chat (?ticket=...).</summary>
/// <param name="Ticket">Works once, until <paramref name="ExpiresAt"/>.</param>
public sealed record SessionTicket(string Ticket, DateTime ExpiresAt);

/// <summary>/v1/sessions: a user's conversations and their transcripts; another user's are invisible (404).</summary>
public static partial class SessionsApi
{
    private const string Columns = "id, character_id AS characterid, status, started_at AS startedat, ended_at AS endedat";

    /// <summary>Maps the endpoints.</summary>
    public static RouteGroupBuilder MapSessionsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/sessions").WithTags("Sessions").RequireAuthorization().RequireRateLimiting(ApiRateLimiting.PerKey);
        group.MapPost("/", Create);
        group.MapGet("/", List);
        group.MapGet("/{id:guid}", Get);
        group.MapPost("/{id:guid}/end", End);
        group.MapGet("/{id:guid}/messages", Messages);
        group.MapPost("/{id:guid}/ticket", Ticket).RequireRateLimiting(ApiRateLimiting.Tickets);
        return group;
    }

    /// <summary>Starts a session with one of the user's characters.</summary>
    public static async Task<Results<Created<Session>, NotFound<ProblemDetails>, ValidationProblem>> Create(CreateSessionRequest request,
        ClaimsPrincipal user, NpgsqlDataSource db, TimeProvider time)
    {
        if (request.CharacterId is not { } characterId)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["characterId"] = ["characterId is required."] });
        }
        var session = new Session(Guid.CreateVersion7(), characterId, "active", time.GetUtcNow().UtcDateTime, null);
        await using var connection = await db.OpenConnectionAsync();
        int inserted;
        try
        {
            // Inserting through a SELECT on the user's own characters: another user's character id inserts nothing.
            inserted = await connection.ExecuteAsync(
                """
                INSERT INTO sessions (id, user_id, character_id, status, started_at)
                SELECT @Id, @UserId, c.id, 'active', @StartedAt FROM characters c WHERE c.id = @CharacterId AND c.user_id = @UserId
                """,
                new { session.Id, UserId = user.UserId(), session.StartedAt, CharacterId = characterId });
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            // The character was deleted while the row went in: as if it had never been there.
            inserted = 0;
        }
        return inserted == 0
            ? TypedResults.NotFound(new ProblemDetails { Status = 404, Title = "No such character.", Detail = $"Character {characterId} does not exist." })
            : TypedResults.Created($"/v1/sessions/{session.Id}", session);
    }

    /// <summary>The user's sessions, oldest first, a page at a time.</summary>
    public static Task<Results<Ok<Page<Session>>, ValidationProblem>> List(ClaimsPrincipal user, NpgsqlDataSource db, int? limit, Guid? after) =>
        Paging.QueryAsync<Session>(db, $"SELECT {Columns} FROM sessions WHERE user_id = @UserId", new { UserId = user.UserId() }, limit, after, s => s.Id);

    /// <summary>One session.</summary>
    public static async Task<Results<Ok<Session>, NotFound>> Get(Guid id, ClaimsPrincipal user, NpgsqlDataSource db)
    {
        await using var connection = await db.OpenConnectionAsync();
        var session = await connection.QuerySingleOrDefaultAsync<Session>(
            $"SELECT {Columns} FROM sessions WHERE id = @Id AND user_id = @UserId", new { Id = id, UserId = user.UserId() });
        return session is null ? TypedResults.NotFound() : TypedResults.Ok(session);
    }

    /// <summary>
    /// Ends a session (again is harmless: the first end time stays) and queues its facts and summary for the workers, in
    /// this request's trace. If Redis cannot take them, the session stays unmarked and the worker's sweep queues them.
    /// </summary>
    public static async Task<Results<Ok<Session>, NotFound>> End(Guid id, ClaimsPrincipal user, NpgsqlDataSource db, TimeProvider time,
        JobProducer jobs, ILogger<Session> logger)
    {
        await using var connection = await db.OpenConnectionAsync();
        var session = await connection.QuerySingleOrDefaultAsync<Session>(
            $"""
            UPDATE sessions SET status = 'ended', ended_at = COALESCE(ended_at, @Now)
            WHERE id = @Id AND user_id = @UserId
            RETURNING {Columns}
            """,
            new { Id = id, UserId = user.UserId(), Now = time.GetUtcNow().UtcDateTime });
        if (session is null)
        {
            return TypedResults.NotFound();
        }
        try
        {
            await jobs.QueueEndedAsync(id);
            await connection.ExecuteAsync("UPDATE sessions SET jobs_queued_at = now() WHERE id = @Id AND jobs_queued_at IS NULL", new { Id = id });
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogJobsNotQueued(logger, id, ex.Message);
        }
        return TypedResults.Ok(session);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not queue the end-of-session jobs of {SessionId} ({Error}); the worker's sweep will")]
    private static partial void LogJobsNotQueued(ILogger logger, Guid sessionId, string error);

    /// <summary>How long a WebSocket ticket stays valid: enough to open the socket right after asking.</summary>
    public static readonly TimeSpan TicketLifetime = TimeSpan.FromSeconds(60);

    /// <summary>Issues a single-use WebSocket ticket for an active session of the user's.</summary>
    public static async Task<Results<Ok<SessionTicket>, NotFound, Conflict<ProblemDetails>>> Ticket(Guid id, ClaimsPrincipal user,
        NpgsqlDataSource db, TimeProvider time)
    {
        var ticket = "avt_" + Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var now = time.GetUtcNow().UtcDateTime;
        var expiresAt = now + TicketLifetime;
        await using var connection = await db.OpenConnectionAsync();
        var status = await connection.ExecuteScalarAsync<string?>(
            "SELECT status FROM sessions WHERE id = @Id AND user_id = @UserId", new { Id = id, UserId = user.UserId() });
        if (status is null)
        {
            return TypedResults.NotFound();
        }
        if (status != "active")
        {
            return TypedResults.Conflict(new ProblemDetails { Status = 409, Title = "The session has ended.", Detail = $"Session {id} has ended; start a new one." });
        }
        try
        {
            // Expired tickets are cleared here, where they are made, rather than by a job of their own.
            await connection.ExecuteAsync(
                """
                DELETE FROM tickets WHERE expires_at < @Now;
                INSERT INTO tickets (hash, user_id, session_id, expires_at) VALUES (@Hash, @UserId, @Id, @ExpiresAt);
                """,
                new { Now = now, Hash = ApiKeyAuthentication.Hash(ticket), UserId = user.UserId(), Id = id, ExpiresAt = expiresAt });
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            // The session went (its character was deleted) between the check above and the insert.
            return TypedResults.NotFound();
        }
        return TypedResults.Ok(new SessionTicket(ticket, expiresAt));
    }

    /// <summary>The session's transcript, oldest first, a page at a time.</summary>
    public static async Task<Results<Ok<Page<Message>>, NotFound, ValidationProblem>> Messages(Guid id, ClaimsPrincipal user, NpgsqlDataSource db,
        int? limit, Guid? after)
    {
        await using (var connection = await db.OpenConnectionAsync())
        {
            if (await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM sessions WHERE id = @Id AND user_id = @UserId", new { Id = id, UserId = user.UserId() }) == 0)
            {
                return TypedResults.NotFound();
            }
        }
        return await Paging.QueryAsync<Message>(db, "SELECT id, role, text, created_at AS createdat FROM messages WHERE session_id = @Id",
            new { Id = id }, limit, after, m => m.Id) switch
        {
            { Result: Ok<Page<Message>> page } => page,
            { Result: ValidationProblem problem } => problem,
            _ => throw new InvalidOperationException("Unexpected paging result."),
        };
    }
}
