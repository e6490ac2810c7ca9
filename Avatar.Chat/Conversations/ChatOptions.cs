using System.ComponentModel.DataAnnotations;

namespace Avatar.Chat.Conversations;

/// <summary>The Chat section of configuration.</summary>
public sealed class ChatOptions
{
    /// <summary>The language model: embedded (offline, the default), openai (any OpenAI-compatible server) or anthropic.</summary>
    [Required]
    public string LlmProvider { get; set; } = "embedded";

    /// <summary>The voice: espeak (embedded, the default), elevenlabs or openai.</summary>
    [Required]
    public string TtsProvider { get; set; } = "espeak";

    /// <summary>A client text frame larger than this is refused with an error frame (the socket stays open).</summary>
    [Range(1024, 1024 * 1024)]
    public int MaxMessageBytes { get; set; } = 16 * 1024;

    /// <summary>The longest <c>say</c> text, in characters.</summary>
    [Range(1, 100_000)]
    public int MaxSayLength { get; set; } = 2000;

    /// <summary>How many earlier messages of the session the model sees.</summary>
    [Range(0, 1000)]
    public int HistoryMessages { get; set; } = 20;

    /// <summary>How many of the user's facts the model sees, the most relevant first.</summary>
    [Range(0, 100)]
    public int Facts { get; set; } = 5;
}
