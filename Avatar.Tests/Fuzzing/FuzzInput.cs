using System.Globalization;
using System.Text;

namespace Avatar.Tests.Fuzzing;

/// <summary>
/// Random input of the kinds that break parsers, databases and logs, for the three fuzzers. Case i of a run draws from
/// its own generator, seeded by the run's seed and i, so a failing case is the same input whatever ran beside it.
/// </summary>
internal sealed class FuzzInput(Random random)
{
    /// <summary>The fixed default: CI runs the same inputs every time; AVATAR_FUZZ_SEED explores others.</summary>
    public const int DefaultSeed = 20261129;

    public static int Seed { get; } = FromEnvironment("AVATAR_FUZZ_SEED", DefaultSeed);

    /// <summary>Cases per fuzzer (AVATAR_FUZZ_COUNT): the issue's 10,000 unless told otherwise.</summary>
    public static int Count { get; } = FromEnvironment("AVATAR_FUZZ_COUNT", 10_000);

    public static FuzzInput ForCase(int index) => new(new Random(unchecked((Seed * 1_000_003) + index)));

    public static string Replay => $"AVATAR_FUZZ_SEED={Seed} AVATAR_FUZZ_COUNT={Count}";

    public int Next(int max) => random.Next(max);

    public int Next(int min, int max) => random.Next(min, max);

    public bool Chance(double probability) => random.NextDouble() < probability;

    public T Pick<T>(params T[] items) => items[random.Next(items.Length)];

    public byte[] Bytes(int maxLength)
    {
        var bytes = new byte[random.Next(maxLength + 1)];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>A string: often plausible (so it gets past validation to the database), often hostile.</summary>
    public string Text() => random.Next(12) switch
    {
        0 => "",
        1 => Pick(" ", "\t\r\n", "\u00a0", "\u200b\u200b"),
        2 => Pick("Ann", "ann@example.com", "tarot", "en-us", "A calm reader.") + ControlCharacters(),
        3 => Pick("Ann", "x@y", "Hello there") + Pick("\ud800", "\udfff", "\udc00\ud800", "\uffff", "\ufffe"),
        4 => Pick("👩‍👩‍👧‍👦 ", "e\u0301\u0301\u0301\u0301", "\u202egnp.exe", "Ω≈ç√∫˜µ≤", "田中さんにあげて下さい", "ﷺ", "𝕿𝖍𝖊"),
        5 => Pick("' OR '1'='1' --", "%s%s%n{0}{1}", "<script>alert(1)</script>", "../../../../etc/passwd", "${jndi:ldap://x/a}",
            "\\u0000", "Robert'); DROP TABLE users;--", "@", "a@", "@a"),
        6 => CodePoints(random.Next(1, 40)),
        7 => new string(Pick('a', 'é', '字', '\u0301'), Pick(100, 101, 255, 1001, 2001, 4001, 17_000, 70_000)),
        8 => Pick("1e309", "-0", "NaN", "Infinity", "null", "true", "0x10", "00001"),
        _ => Pick("Ann", "Madame Zora", "tarot", "custom_chat", "blind_date", "concierge", "en-us", "en-gb+f3", "Will I find love?",
            $"{Guid.NewGuid():N}@example.com"),
    };

    /// <summary>A JSON number, often one that fits no .NET type.</summary>
    public string Number() => Pick("0", "-0", "1", "-1", "0.5", "1.0e+2", "2147483648", "-9223372036854775809", "1e308", "1e999", "-1e-999",
        "123456789012345678901234567890", random.Next().ToString(CultureInfo.InvariantCulture));

    /// <summary>A JSON value; objects mostly use <paramref name="fields"/> as keys, with values of every type.</summary>
    public string Json(string[] fields, int depth = 0) => random.Next(depth > 3 ? 5 : 9) switch
    {
        0 => "null",
        1 => Pick("true", "false"),
        2 => Number(),
        3 or 4 => Quote(Text()),
        5 => Nested(Pick(2, 63, 64, 65, 1000, 100_000)),
        6 => "[" + string.Join(",", Enumerable.Range(0, random.Next(4)).Select(_ => Json(fields, depth + 1))) + "]",
        _ => Object(fields, _ => Json(fields, depth + 1)),
    };

    /// <summary>An object of some of <paramref name="fields"/> (now and then a duplicate or an unknown one).</summary>
    public string Object(string[] fields, Func<string, string> value)
    {
        var keys = fields.Where(_ => Chance(0.8)).ToList();
        if (Chance(0.1))
        {
            keys.Add(Chance(0.5) && fields.Length > 0 ? Pick(fields) : Text());
        }
        return "{" + string.Join(",", keys.Select(k => Quote(Chance(0.05) ? k.ToUpperInvariant() : k) + ":" + value(k))) + "}";
    }

    /// <summary>Breaks JSON text the ways hand-written or truncated JSON is broken.</summary>
    public string Mangle(string json)
    {
        var at = json.Length == 0 ? 0 : random.Next(json.Length);
        return random.Next(7) switch
        {
            0 => json[..at],
            1 => json.Insert(at, Pick("\"", "{", "]", ",", "\\", "\0", "\ud800")),
            2 => json.Replace('"', '\''),
            3 => json + Pick(",", "}", " garbage", "{}"),
            4 => "\ufeff" + json,
            5 => json.Replace("}", ",}"),
            _ => "/* */" + json,
        };
    }

    /// <summary>A JSON string literal of <paramref name="text"/>, lone surrogates and control characters escaped as JSON allows.</summary>
    public static string Quote(string text)
    {
        var quoted = new StringBuilder(text.Length + 2).Append('"');
        foreach (var c in text)
        {
            _ = c is < ' ' or '"' or '\\' || char.IsSurrogate(c)
                ? quoted.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}")
                : quoted.Append(c);
        }
        return quoted.Append('"').ToString();
    }

    private static string Nested(int depth) => new string('[', depth) + new string(']', depth);

    /// <summary>Control characters, NUL among them half the time: PostgreSQL's text cannot hold it.</summary>
    private string ControlCharacters() => (Chance(0.5) ? "\0" : "") + new string([.. Enumerable.Range(0, random.Next(1, 4)).Select(_ => (char)random.Next(0, 32))]);

    private string CodePoints(int count)
    {
        var text = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            var point = random.Next(0x30000);
            _ = point is >= 0xD800 and < 0xE000 ? text.Append((char)point) : text.Append(char.ConvertFromUtf32(point));
        }
        return text.ToString();
    }

    private static int FromEnvironment(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), CultureInfo.InvariantCulture, out var value) ? value : fallback;
}
