using System.Security.Cryptography;
using System.Text;
using Dapper;
using Npgsql;

namespace Avatar.Chat.Conversations;

/// <summary>The session a socket is bound to, with its character.</summary>
public sealed record ChatSession(Guid Id, Guid UserId, string Status, Guid CharacterId, string CharacterName, string Kind, string Persona,
    string Voice, string? Greeting);

/// <summary>A stored message: role is "user" or "character".</summary>
public sealed record StoredMessage(string Role, string Text);

/// <summary>What Chat reads and writes in the Api's database: tickets, sessions, messages and facts.</summary>
public sealed class ConversationStore(NpgsqlDataSource db, TimeProvider time)
{
    /// <summary>
    /// Drops every pooled connection. After a database restart each idle one is dead and would fail one more turn once
    /// the database is back; called at the first storage failure, it makes the next turn open fresh ones.
    /// </summary>
    public void DropPooledConnections() => db.Clear();

    /// <summary>Redeems a ticket once: the row is deleted as it is read, so a second use finds nothing.</summary>
    public async Task<(Guid UserId, Guid SessionId)?> RedeemTicketAsync(string ticket, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<(Guid, Guid)?>(new CommandDefinition(
            "DELETE FROM tickets WHERE hash = @Hash AND expires_at > @Now RETURNING user_id, session_id",
            new { Hash = Hash(ticket), Now = time.GetUtcNow().UtcDateTime }, cancellationToken: cancellationToken));
        return row;
    }

    /// <summary>The user whose API key this is (only its SHA-256 is stored, as the Api does).</summary>
    public async Task<Guid?> UserByApiKeyAsync(string apiKey, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<Guid?>(new CommandDefinition(
            "SELECT id FROM users WHERE api_key_hash = @Hash", new { Hash = Hash(apiKey) }, cancellationToken: cancellationToken));
    }

    /// <summary>The user's session and its character; null for an unknown id or another user's session.</summary>
    public async Task<ChatSession?> SessionAsync(Guid sessionId, Guid userId, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<ChatSession>(new CommandDefinition(
            """
            SELECT s.id, s.user_id AS userid, s.status, c.id AS characterid, c.name AS charactername, c.kind, c.persona, c.voice, c.greeting
            FROM sessions s JOIN characters c ON c.id = s.character_id
            WHERE s.id = @SessionId AND s.user_id = @UserId
            """, new { SessionId = sessionId, UserId = userId }, cancellationToken: cancellationToken));
    }

    /// <summary>Appends a message to the session's transcript.</summary>
    public async Task AddMessageAsync(Guid sessionId, string role, string text, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO messages (id, session_id, role, text, created_at) VALUES (@Id, @SessionId, @Role, @Text, @Now)",
            new { Id = Guid.CreateVersion7(), SessionId = sessionId, Role = role, Text = text, Now = time.GetUtcNow().UtcDateTime },
            cancellationToken: cancellationToken));
    }

    /// <summary>The last <paramref name="count"/> messages of the session, oldest first.</summary>
    public async Task<IReadOnlyList<StoredMessage>> HistoryAsync(Guid sessionId, int count, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var newestFirst = await connection.QueryAsync<StoredMessage>(new CommandDefinition(
            "SELECT role, text FROM messages WHERE session_id = @SessionId ORDER BY id DESC LIMIT @Count",
            new { SessionId = sessionId, Count = count }, cancellationToken: cancellationToken));
        return [.. newestFirst.Reverse()];
    }

    /// <summary>
    /// The user's facts (from all their sessions) most relevant to <paramref name="text"/> by PostgreSQL full-text search,
    /// any of its words counting; with no match, the newest facts, so a character still knows something.
    /// </summary>
    public async Task<IReadOnlyList<string>> FactsAsync(Guid userId, string text, int count, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        var facts = await connection.QueryAsync<string>(new CommandDefinition(
            """
            WITH q AS (SELECT NULLIF(replace(plainto_tsquery('english', @Text)::text, '&', '|'), '') AS terms)
            SELECT f.text FROM facts f, q
            WHERE f.user_id = @UserId
            ORDER BY CASE WHEN q.terms IS NULL THEN 0 ELSE ts_rank(f.search, to_tsquery('english', q.terms)) END DESC, f.id DESC
            LIMIT @Count
            """, new { UserId = userId, Text = text, Count = count }, cancellationToken: cancellationToken));
        return [.. facts];
    }

    private static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));
}
