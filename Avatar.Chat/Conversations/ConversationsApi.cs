using Microsoft.Extensions.Options;

namespace Avatar.Chat.Conversations;

/// <summary>/v1/sessions/{id}/ws: a conversation with the session's character over a WebSocket.</summary>
public static class ConversationsApi
{
    /// <summary>Maps the WebSocket endpoint.</summary>
    public static RouteGroupBuilder MapConversationsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/sessions").WithTags("Conversations");
        group.Map("/{id:guid}/ws", ConnectAsync);
        return group;
    }

    /// <summary>
    /// Authenticates before the upgrade: a single-use <c>?ticket=</c> from the Api (browsers cannot set headers on a
    /// WebSocket), or an <c>X-Api-Key</c> header. No valid credential: 401. The user's sockets all open: 429. Another user's
    /// or an unknown session: 404. The database unreachable: 503 with Retry-After.
    /// </summary>
    internal static async Task ConnectAsync(HttpContext http, Guid id, ConversationStore store, TurnRunner turns,
        IOptions<ChatOptions> options, ChatLimits limits, RateLimitMetrics metrics, ILogger<ChatConnection> logger)
    {
        if (!http.WebSockets.IsWebSocketRequest)
        {
            await Results.Problem(statusCode: 400, title: "WebSocket required", detail: "Open this URL with a WebSocket client.").ExecuteAsync(http);
            return;
        }
        var aborted = http.RequestAborted;
        var upgraded = false;
        try
        {
            Guid? userId = null;
            if (http.Request.Query["ticket"].ToString() is { Length: > 0 and < 200 } ticket)
            {
                // A ticket names its session: one issued for another session does not open this one.
                userId = await store.RedeemTicketAsync(ticket, aborted) is { } redeemed && redeemed.SessionId == id ? redeemed.UserId : null;
            }
            else if (http.Request.Headers["X-Api-Key"].ToString() is { Length: > 0 and < 200 } key)
            {
                userId = await store.UserByApiKeyAsync(key, aborted);
            }
            if (userId is null)
            {
                await Results.Problem(statusCode: 401, title: "Unauthorized",
                    detail: "Pass ?ticket= (POST /v1/sessions/{id}/ticket at the Api) or an X-Api-Key header.").ExecuteAsync(http);
                return;
            }
            // Counted after the credential, which names the user (a ticket is spent by then: the client asks for another).
            using var place = limits.OpenSocket(userId.Value);
            if (!place.IsAcquired)
            {
                await metrics.WriteTooManyRequestsAsync(http, ChatLimits.SocketsPolicy, retryAfter: null,
                    $"A user may hold {limits.Settings.SocketsPerUser} conversations open at once; close one first.");
                return;
            }
            if (await store.SessionAsync(id, userId.Value, aborted) is not { } session)
            {
                await Results.Problem(statusCode: 404, title: "No such session.", detail: $"Session {id} does not exist.").ExecuteAsync(http);
                return;
            }
            if (session.Status != "active")
            {
                await Results.Problem(statusCode: 409, title: "The session has ended.", detail: "Start a new session to talk again.").ExecuteAsync(http);
                return;
            }
            upgraded = true;
            using var socket = await http.WebSockets.AcceptWebSocketAsync();
            await new ChatConnection(socket, session, turns, options.Value, limits, logger).RunAsync(aborted);
        }
        catch (Exception e) when (!upgraded && e is Npgsql.NpgsqlException or TimeoutException && !aborted.IsCancellationRequested)
        {
            // The database is down or slow to answer: a 503 asks the client to try again, as the Api's does.
            logger.LogWarning(e, "Database unavailable while opening a conversation");
            store.DropPooledConnections();
            http.Response.Headers.RetryAfter = "1";
            await Results.Problem(statusCode: 503, title: "The database is unavailable.", detail: "Try again shortly.").ExecuteAsync(http);
        }
    }
}
