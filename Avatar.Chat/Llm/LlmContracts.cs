namespace Avatar.Chat.Llm;

/// <summary>Who said a message in the conversation sent to a language model.</summary>
public enum LlmRole { System, User, Assistant }

/// <summary>One message of the conversation sent to a language model.</summary>
public sealed record LlmMessage(LlmRole Role, string Content);

/// <summary>
/// The character a turn is played by. Network models see it through the system prompt; the embedded engine reads it
/// directly, since it has no language understanding of its own.
/// </summary>
/// <param name="SessionId">Seeds the embedded engine, so one session replays the same way.</param>
/// <param name="Kind">tarot, custom_chat, blind_date or concierge.</param>
/// <param name="Facts">What is known about the user, most relevant to this turn first.</param>
/// <param name="Turn">0 for the first user message of the session.</param>
public sealed record CharacterContext(
    Guid SessionId, string Name, string Kind, string Persona, IReadOnlyList<string> Facts, int Turn);

/// <summary>A request for the next assistant message.</summary>
public sealed record LlmRequest(IReadOnlyList<LlmMessage> Messages)
{
    /// <summary>Overrides the provider's configured model.</summary>
    public string? Model { get; init; }

    public int MaxTokens { get; init; } = 400;

    public double? Temperature { get; init; }

    public CharacterContext? Character { get; init; }
}

/// <summary>A provider of streamed assistant text.</summary>
public interface ILlmClient
{
    /// <summary>The provider's name as configured: openai, anthropic or embedded.</summary>
    string Name { get; }

    /// <summary>Streams the assistant's text as it is produced, in pieces of any size.</summary>
    /// <exception cref="LlmException">The provider refused or failed; the message never holds a key.</exception>
    IAsyncEnumerable<string> StreamAsync(LlmRequest request, CancellationToken cancellationToken);
}

/// <summary>A provider refused, failed or dropped a stream.</summary>
public sealed class LlmException(string message, int? statusCode = null, TimeSpan? retryAfter = null, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>The HTTP status, or null when the connection failed or the stream broke.</summary>
    public int? StatusCode { get; } = statusCode;

    /// <summary>The provider's Retry-After, when it sent one.</summary>
    public TimeSpan? RetryAfter { get; } = retryAfter;

    /// <summary>Whether trying again later can help: rate limits, server errors and broken connections.</summary>
    public bool IsTransient => StatusCode is null or 408 or 429 or >= 500;
}
