using System.Text;
using System.Text.Json;
using Avatar.Worker.Facts;
using Dapper;
using Npgsql;

namespace Avatar.Worker.Jobs;

/// <summary>A job's input was not usable: retrying cannot help, so it goes to the dead-letter stream at once.</summary>
public sealed class PoisonJobException(string message) : Exception(message);

/// <summary>
/// What each job type does. A handler's writes run in the transaction that also records the job in job_runs, so a
/// job's effect happens once however many times it is delivered.
/// </summary>
internal static class JobHandlers
{
    public delegate Task Handler(Job job, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken);

    public static readonly IReadOnlyDictionary<string, Handler> ByType = new Dictionary<string, Handler>(StringComparer.Ordinal)
    {
        ["session.facts"] = ExtractFactsAsync,
        ["session.summary"] = SummarizeAsync,
        ["probe"] = ProbeAsync,
    };

    /// <summary>Stores what the user said about themselves in the session, as facts the concierge can retrieve later.</summary>
    private static async Task ExtractFactsAsync(Job job, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var sessionId = SessionId(job);
        var userId = await connection.ExecuteScalarAsync<Guid?>(new CommandDefinition(
            "SELECT user_id FROM sessions WHERE id = @sessionId", new { sessionId }, transaction, cancellationToken: cancellationToken));
        if (userId is null)
        {
            return; // deleted since it ended: nothing to remember
        }
        var said = await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT text FROM messages WHERE session_id = @sessionId AND role = 'user' ORDER BY id", new { sessionId }, transaction,
            cancellationToken: cancellationToken));
        var facts = said.SelectMany(FactExtractor.Extract).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        foreach (var fact in facts)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO facts (id, user_id, text, source_session_id, created_at) VALUES (@Id, @userId, @fact, @sessionId, now())
                ON CONFLICT (user_id, lower(text)) DO NOTHING
                """, new { Id = Guid.CreateVersion7(), userId, fact, sessionId }, transaction, cancellationToken: cancellationToken));
        }
    }

    /// <summary>A short extractive summary of the session: its length, how it opened and how it ended.</summary>
    private static async Task SummarizeAsync(Job job, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var sessionId = SessionId(job);
        var messages = (await connection.QueryAsync<(string Role, string Text, string Character)>(new CommandDefinition(
            """
            SELECT m.role, m.text, c.name FROM messages m JOIN sessions s ON s.id = m.session_id JOIN characters c ON c.id = s.character_id
            WHERE m.session_id = @sessionId ORDER BY m.created_at, m.id
            """, new { sessionId }, transaction, cancellationToken: cancellationToken))).ToList();
        var summary = new StringBuilder($"{messages.Count} messages.");
        if (messages.FirstOrDefault(m => m.Role == "user") is { Text: not null } first)
        {
            summary.Append(" The user opened with: \"").Append(Clip(first.Text)).Append("\".");
        }
        if (messages.LastOrDefault(m => m.Role == "character") is { Text: not null } last)
        {
            summary.Append(' ').Append(last.Character).Append(" ended with: \"").Append(Clip(last.Text)).Append("\".");
        }
        await connection.ExecuteAsync(new CommandDefinition("UPDATE sessions SET summary = @summary WHERE id = @sessionId",
            new { summary = summary.ToString(), sessionId }, transaction, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// An operational probe: checks that jobs flow and measures their latency end to end. It waits sleepMs (as a slow
    /// job would), fails when asked to (to exercise retries and the dead-letter stream), and otherwise only leaves its
    /// job_runs row.
    /// </summary>
    private static async Task ProbeAsync(Job job, NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        using var payload = Payload(job);
        if (payload.RootElement.TryGetProperty("sleepMs", out var sleep) && sleep.TryGetInt32(out var ms) && ms > 0)
        {
            await Task.Delay(Math.Min(ms, 60_000), cancellationToken);
        }
        if (payload.RootElement.TryGetProperty("fail", out var fail) && fail.ValueKind == JsonValueKind.True)
        {
            throw new InvalidOperationException("The probe was asked to fail.");
        }
    }

    private static Guid SessionId(Job job)
    {
        using var payload = Payload(job);
        return payload.RootElement.TryGetProperty("sessionId", out var id) && id.TryGetGuid(out var sessionId)
            ? sessionId
            : throw new PoisonJobException($"{job.Type} needs a payload {{\"sessionId\": \"<uuid>\"}}.");
    }

    private static JsonDocument Payload(Job job)
    {
        try
        {
            return JsonDocument.Parse(job.Payload);
        }
        catch (JsonException e)
        {
            throw new PoisonJobException($"The payload is not JSON: {e.Message}");
        }
    }

    private static string Clip(string text) => text.Length <= 120 ? text : text[..117] + "...";
}
