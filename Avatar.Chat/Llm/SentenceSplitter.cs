using System.Text;

namespace Avatar.Chat.Llm;

/// <summary>
/// Cuts streamed text into sentences as they complete, so speech can start on the first sentence while the model is
/// still writing the rest. The result does not depend on how the text was chunked.
/// </summary>
public sealed class SentenceSplitter
{
    /// <summary>A sentence longer than this without an end is cut at its last pause, so speech never waits for long.</summary>
    public const int MaxLength = 200;

    private static readonly HashSet<string> s_abbreviations = new(StringComparer.OrdinalIgnoreCase)
    {
        "mr", "mrs", "ms", "dr", "st", "vs", "etc", "e.g", "i.e", "jr", "sr", "prof", "mt", "no", "approx", "a.m", "p.m",
    };

    private readonly StringBuilder _pending = new();

    /// <summary>Adds text; returns the sentences it completed, trimmed.</summary>
    public IEnumerable<string> Push(string delta)
    {
        _pending.Append(delta);
        var sentences = new List<string>();
        while (NextEnd() is { } end)
        {
            var sentence = _pending.ToString(0, end).Trim();
            _pending.Remove(0, end);
            if (sentence.Length > 0)
            {
                sentences.Add(sentence);
            }
        }
        return sentences;
    }

    /// <summary>The rest of the text at the end of the stream, or null when nothing is left.</summary>
    public string? Flush()
    {
        var rest = _pending.ToString().Trim();
        _pending.Clear();
        return rest.Length > 0 ? rest : null;
    }

    /// <summary>Where the first complete sentence ends (exclusive), or null while none is complete yet.</summary>
    private int? NextEnd()
    {
        var text = _pending.ToString();
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\n')
            {
                return i + 1;
            }
            if (c is not ('.' or '!' or '?' or '…'))
            {
                continue;
            }
            // A run of terminators ("?!", "...") and closing quotes or brackets belong to the sentence.
            var end = i + 1;
            while (end < text.Length && text[end] is '.' or '!' or '?' or '…' or '"' or '\'' or ')' or ']' or '”' or '’')
            {
                end++;
            }
            if (end == text.Length)
            {
                return null; // the next chunk decides: "3." may become "3.14", "Dr." may be followed by a name
            }
            if (char.IsWhiteSpace(text[end]) && !(c == '.' && end == i + 1 && IsAbbreviation(text, i)))
            {
                return end;
            }
            i = end - 1;
        }
        return text.Length > MaxLength ? Pause(text) : null;
    }

    /// <summary>Whether the period at <paramref name="dot"/> ends an abbreviation or an initial rather than a sentence.</summary>
    private static bool IsAbbreviation(string text, int dot)
    {
        var start = dot;
        while (start > 0 && (char.IsLetter(text[start - 1]) || text[start - 1] == '.'))
        {
            start--;
        }
        var word = text[start..dot];
        return (word.Length == 1 && char.IsUpper(word[0])) || s_abbreviations.Contains(word);
    }

    private static int Pause(string text)
    {
        var cut = text.LastIndexOfAny([',', ';', ':'], MaxLength);
        if (cut < MaxLength / 4)
        {
            cut = text.LastIndexOf(' ', MaxLength);
        }
        return cut > 0 ? cut + 1 : MaxLength;
    }
}
