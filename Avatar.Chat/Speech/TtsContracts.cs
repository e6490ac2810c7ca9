namespace Avatar.Chat.Speech;

/// <summary>A text-to-speech provider.</summary>
public interface ITtsClient
{
    /// <summary>The provider's name as configured: espeak, elevenlabs or openai.</summary>
    string Name { get; }

    /// <summary>The sample rate of the audio <see cref="SynthesizeAsync"/> yields.</summary>
    int SampleRate { get; }

    /// <summary>
    /// Streams the speech for <paramref name="text"/> as 16-bit little-endian mono PCM at <see cref="SampleRate"/>.
    /// Every chunk holds whole samples (an even number of bytes), whatever the network's chunking.
    /// </summary>
    /// <param name="voice">The provider's voice id; null for the configured default.</param>
    /// <exception cref="TtsException">The provider refused or failed; the message never holds a key.</exception>
    IAsyncEnumerable<ReadOnlyMemory<byte>> SynthesizeAsync(string text, string? voice, CancellationToken cancellationToken);
}

/// <summary>A speech provider refused, failed or dropped a stream.</summary>
public sealed class TtsException(string message, int? statusCode = null, TimeSpan? retryAfter = null, Exception? inner = null)
    : Exception(message, inner)
{
    public int? StatusCode { get; } = statusCode;

    public TimeSpan? RetryAfter { get; } = retryAfter;

    public bool IsTransient => StatusCode is null or 408 or 429 or >= 500;
}
