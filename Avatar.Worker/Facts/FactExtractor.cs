using System.Text.RegularExpressions;

namespace Avatar.Worker.Facts;

/// <summary>
/// Finds what a user says about themselves ("my name is Ana", "I'm allergic to peanuts", "I live in Lisbon") and
/// restates it to the user ("Your name is Ana.", "You are allergic to peanuts."), the form characters quote back.
/// Rule-based on purpose: it runs offline on every ended session, and a statement it misses costs less than an
/// invented one. Questions and hypotheticals ("if I lived in Paris") state nothing and are skipped.
/// </summary>
public static partial class FactExtractor
{
    private static readonly (Regex Pattern, Func<Match, string> Fact)[] s_rules =
    [
        (Rule(@"^my (?<what>name|birthday|job|home ?town|(?:favou?rite|fave) [a-z ]{2,30}?) is (?<value>.+)$"),
            m => $"Your {m.Groups["what"].Value} is {m.Groups["value"].Value}"),
        (Rule(@"^i (?<verb>live|work|grew up|was born|study) (?<prep>in|at|as|for|on) (?<value>.+)$"),
            m => $"You {m.Groups["verb"].Value} {m.Groups["prep"].Value} {m.Groups["value"].Value}"),
        (Rule(@"^i(?: am|'m|’m) (?<value>(?:allergic to|afraid of|married|single|divorced|engaged|vegan|vegetarian|from|a|an|\d+ years old).*)$"),
            m => $"You are {m.Groups["value"].Value}"),
        (Rule(@"^i (?<verb>love|like|enjoy|hate|dislike|prefer|have|own|speak|play|drive|collect) (?<value>.+)$"),
            m => $"You {m.Groups["verb"].Value} {m.Groups["value"].Value}"),
        (Rule(@"^i (?:don't|don’t|do not) (?<verb>like|eat|drink|drive|smoke) (?<value>.+)$"),
            m => $"You do not {m.Groups["verb"].Value} {m.Groups["value"].Value}"),
    ];

    /// <summary>The facts stated in <paramref name="userText"/>, each a sentence addressed to the user, without repeats.</summary>
    public static IReadOnlyList<string> Extract(string userText)
    {
        ArgumentNullException.ThrowIfNull(userText);
        var facts = new List<string>();
        foreach (var raw in Sentence().Split(userText))
        {
            var sentence = raw.Trim();
            if (sentence.EndsWith('?') || sentence.Length is < 6 or > 300)
            {
                continue;
            }
            var clause = Opener().Replace(sentence.TrimEnd('.', '!', ' '), "");
            if (clause.StartsWith("if ", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            foreach (var (pattern, fact) in s_rules)
            {
                if (pattern.Match(clause) is { Success: true } match)
                {
                    facts.Add(Tidy(fact(match)));
                    break;
                }
            }
        }
        return [.. facts.Distinct(StringComparer.OrdinalIgnoreCase)];
    }

    // "I love jazz and my name is Ana" is two statements: the second clause is a sentence of its own.
    [GeneratedRegex(@"(?<=[.!?])\s+|\n+|,?\s+(?:and|but)\s+(?=(?:i|my)\b)", RegexOptions.IgnoreCase)]
    private static partial Regex Sentence();

    [GeneratedRegex(@"^(?:well|so|oh|also|actually|by the way|btw|and|but|hi|hello)[, ]+", RegexOptions.IgnoreCase)]
    private static partial Regex Opener();

    private static Regex Rule(string pattern) => new(pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));

    private static string Tidy(string fact)
    {
        // The user's words about themselves become words about "you".
        fact = MyWords().Replace(fact, m => m.Value.ToLowerInvariant() switch
        {
            "my" => "your",
            "me" => "you",
            "myself" => "yourself",
            _ => m.Value,
        });
        return char.ToUpperInvariant(fact[0]) + fact[1..] + ".";
    }

    [GeneratedRegex(@"\b(?:my|me|myself)\b", RegexOptions.IgnoreCase)]
    private static partial Regex MyWords();
}
