using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;

namespace Avatar.Chat.Llm;

/// <summary>
/// The offline default: a deterministic conversation engine, not a language model. It understands nothing; it follows
/// each character kind's script (draws and reads tarot cards, retrieves the user's facts, asks a date's questions) and
/// picks its phrasing with a random generator seeded by the session, the turn and the user's words, so a conversation
/// replays the same way. It needs no network, key or GPU, which makes the whole system work out of the box and keeps
/// tests and benchmarks repeatable. Configure an OpenAI-compatible or Anthropic model for real conversations.
/// </summary>
public sealed class EmbeddedEngine : ILlmClient
{
    private static readonly HashSet<string> s_stopWords = new(StringComparer.OrdinalIgnoreCase)
    {
        "a", "an", "the", "i", "me", "my", "you", "your", "is", "am", "are", "was", "were", "be", "do", "does", "did", "to", "of", "in",
        "on", "at", "for", "with", "and", "or", "but", "what", "which", "who", "how", "when", "where", "why", "it", "that", "this",
        "can", "could", "will", "would", "should", "about", "tell", "know", "please", "so", "just", "like", "have", "has", "there",
        "they", "we", "he", "she", "them", "our", "their", "its", "if", "not", "no", "yes", "any", "some", "all", "really",
        // Times frame what was said rather than being its topic.
        "today", "yesterday", "tomorrow", "tonight", "morning", "evening", "weekend", "week", "year", "day", "time", "spent",
    };

    /// <inheritdoc />
    public string Name => "embedded";

    /// <inheritdoc />
    public async IAsyncEnumerable<string> StreamAsync(LlmRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var character = request.Character ?? new CharacterContext(Guid.Empty, "Avatar", "custom_chat", "", [], 0);
        var said = request.Messages.LastOrDefault(m => m.Role == LlmRole.User)?.Content ?? "";
        var random = new Random(Seed(character, said));
        var answer = Answer(character, said, random);
        var words = answer.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < words.Length; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return i == words.Length - 1 ? words[i] : words[i] + " ";
            if (i % 4 == 3)
            {
                // Streams as a model would: in pieces, giving the caller's pipeline room to start speaking.
                await Task.Yield();
            }
        }
    }

    private static string Answer(CharacterContext character, string said, Random random)
    {
        var opening = character.Turn <= 0 ? $"Hello, I am {character.Name}. " : "";
        var body = character.Kind switch
        {
            "tarot" => Tarot.Read(said, random),
            "concierge" => Concierge(character, said, random),
            "blind_date" => BlindDate(character, said, random),
            _ => CustomChat(character, said, random),
        };
        return opening + body;
    }

    private static string Concierge(CharacterContext character, string said, Random random)
    {
        var question = Keywords(said);
        var best = character.Facts
            .Select(f => (Fact: f, Score: Keywords(f).Count(question.Contains)))
            .Where(f => f.Score > 0)
            .OrderByDescending(f => f.Score)
            .Select(f => f.Fact)
            .FirstOrDefault();
        if (best is null)
        {
            return Pick(random, "I do not know that about you yet.", "Nothing you have told me so far answers that.")
                + " " + Pick(random, "Tell me, and I will remember it next time.", "If you tell me, I will keep it in mind.");
        }
        return $"{Pick(random, "From what you told me before:", "I remember this:", "You mentioned it once:")} {AsSentence(best)} "
            + Pick(random, "Shall I plan around that?", "Is that still true?", "Does that help?");
    }

    private static string BlindDate(CharacterContext character, string said, Random random)
    {
        var topic = Topic(said);
        var reaction = topic is null
            ? Pick(random, "I like the way you put that.", "That made me smile.")
            : Pick(random, $"Oh, {topic}? Tell me more about that.", $"You had me at {topic}.", $"I did not expect {topic}, I love it.");
        var memory = character.Facts.Count > 0 && random.Next(3) == 0 ? $" And I have not forgotten: {AsSentence(character.Facts[0])}" : "";
        var question = Pick(random, "What makes you laugh the most?", "Where would our perfect first date be?",
            "What is something you are proud of?", "Coffee or a long walk?", "What did you dream of as a kid?");
        return $"{reaction}{memory} {question}";
    }

    private static string CustomChat(CharacterContext character, string said, Random random)
    {
        var topic = Topic(said);
        var style = character.Persona.Split(['.', '!', '?'], StringSplitOptions.RemoveEmptyEntries).Select(s => s.Trim()).FirstOrDefault(s => s.Length > 0);
        var heard = topic is null ? Pick(random, "I hear you.", "Go on.") : Pick(random, $"So, {topic}.", $"Let us talk about {topic}.");
        var voice = style is null ? "" : $" As I always say, {style.TrimEnd('.').ToLowerInvariant()}.";
        return $"{heard}{voice} {Pick(random, "What would you like to know?", "How does that make you feel?", "What happened next?")}";
    }

    /// <summary>Lowercased content words with a crude stem, for matching a question against facts.</summary>
    internal static HashSet<string> Keywords(string text) => [.. ContentWords(text).Select(Stem)];

    /// <summary>What the user talked about, to echo back: the longest content word, the later one on a tie.</summary>
    private static string? Topic(string text) =>
        ContentWords(text).Select(w => w.ToLowerInvariant()).Reverse().OrderByDescending(w => w.Length).FirstOrDefault();

    private static IEnumerable<string> ContentWords(string text) =>
        text.Split([' ', ',', '.', '!', '?', ';', ':', '"', '\'', '(', ')', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries)
            .Where(w => w.Length > 2 && !s_stopWords.Contains(w));

    private static string Stem(string word)
    {
        word = word.ToLowerInvariant();
        foreach (var suffix in (string[])["ing", "ies", "ed", "es", "s"])
        {
            if (word.Length > suffix.Length + 3 && word.EndsWith(suffix, StringComparison.Ordinal))
            {
                return word[..^suffix.Length];
            }
        }
        return word;
    }

    private static string AsSentence(string fact) => fact.TrimEnd() is var f && f.EndsWith('.') ? f : f + ".";

    internal static string Pick(Random random, params string[] options) => options[random.Next(options.Length)];

    private static int Seed(CharacterContext character, string said)
    {
        // A stable hash: string.GetHashCode differs between processes, which would break replaying a session.
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{character.SessionId:N}|{character.Turn}|{said}"));
        return BitConverter.ToInt32(hash, 0);
    }
}
