using Avatar.A2F.Contracts;
using Avatar.Espeak;

namespace Avatar.A2F.Inference.LipSync;

/// <summary>A clip of speech at 16 kHz with the phone active at each moment (the engine's own timings).</summary>
/// <param name="Samples">16 kHz mono samples in [-1, 1].</param>
/// <param name="Phonemes">The engine's phones with their start times, in order.</param>
/// <param name="Voice">The voice that spoke, whose engine names the phones.</param>
/// <param name="Description">Voice, speed and text, for reports.</param>
public sealed record LabelledClip(float[] Samples, IReadOnlyList<PhonemeEvent> Phonemes, TtsVoice Voice, string Description)
{
    /// <summary>The phoneme active at <paramref name="seconds"/> (a pause before the first and after the last).</summary>
    public PhonemeClass ClassAt(double seconds)
    {
        var active = "_";
        foreach (var phoneme in Phonemes)
        {
            if (phoneme.Start.TotalSeconds > seconds)
            {
                break;
            }
            active = phoneme.Name;
        }
        return seconds > Samples.Length / 16000.0 ? new PhonemeClass(Viseme.Sil, 0) : LipSync.Phonemes.Classify(active, Voice);
    }
}

/// <summary>
/// Speech for training and evaluating the lip-sync model, from three engines (espeak-ng, flite, festival) and their English
/// voices at several speeds and pitches (and, when asked, a fourth: GnuSpeech), each labelled with the phone timings of the
/// engine that spoke it. Training text is generated from a word list with a seeded random generator; evaluation uses
/// separate, fixed sentences. The kal voice is never trained on: it is the independent check.
/// </summary>
public static class SpeechCorpus
{
    private static readonly string[] s_words =
    [
        "apple", "baby", "bubble", "maybe", "mop", "map", "palm", "pepper", "bob", "mom", "papa", "ample", "amber", "bump", "mumble",
        "father", "calm", "car", "heart", "part", "start", "hot", "stop", "watch", "saw", "law", "thought", "caught", "ball", "fall",
        "boot", "food", "moon", "blue", "true", "you", "who", "shoe", "two", "through", "goose", "rule", "soup", "pool", "smooth",
        "see", "tea", "me", "he", "key", "three", "free", "seen", "keep", "sheep", "beet", "meet", "easy", "feel", "need",
        "bit", "sit", "fish", "give", "live", "big", "this", "with", "quick", "little", "middle", "ship", "kid", "hill", "win",
        "bed", "red", "said", "head", "bread", "yes", "men", "ten", "get", "let", "best", "rest", "never", "every", "ever",
        "cat", "bat", "hat", "man", "can", "happy", "back", "black", "fat", "flat", "glad", "hand", "land", "stand", "that",
        "cup", "but", "up", "love", "come", "some", "money", "mother", "brother", "under", "other", "son", "sun", "fun", "run",
        "go", "no", "so", "home", "phone", "boat", "road", "open", "over", "only", "slow", "know", "show", "snow", "ocean",
        "day", "way", "say", "play", "rain", "make", "take", "name", "same", "face", "great", "eight", "paper", "table", "able",
        "my", "by", "time", "night", "light", "five", "nice", "mind", "kind", "buy", "why", "sky", "fly", "tiger", "island",
        "now", "how", "out", "about", "house", "mouse", "down", "town", "brown", "found", "sound", "round", "loud", "cloud", "power",
        "boy", "toy", "joy", "voice", "noise", "point", "join", "coin", "oil", "royal", "bird", "word", "work", "her", "first",
        "church", "judge", "chair", "cheese", "measure", "vision", "sure", "nation", "shop", "wish", "jump", "jet", "gem", "edge",
        "zebra", "zoo", "lazy", "busy", "sister", "sauce", "class", "voice", "very", "value", "five", "even", "vivid", "wave",
        "king", "sing", "long", "ring", "thing", "think", "thank", "both", "mouth", "those", "there", "they", "weather", "together",
        "garden", "good", "green", "game", "ground", "quiet", "queen", "question", "yellow", "young", "year", "water", "window", "world",
    ];

    /// <summary>Held-out sentences: never produced by the training generator.</summary>
    public static IReadOnlyList<string> EvaluationSentences { get; } =
    [
        "Papa bought my mom a map of the bay.",
        "The quick brown fox jumps over the lazy dog.",
        "Would you like a cup of hot tea before the moon comes up?",
        "Bob and Pam made a big apple pie for the party.",
        "She sells sea shells by the sea shore.",
        "Please pass me the blue book on the top shelf.",
        "We saw a tall ship sailing far across the ocean.",
        "My brother plays music every Monday evening.",
        "Open the window, the room is too warm.",
        "How about a walk in the park after lunch?",
        "The old man sat quietly by the fire.",
        "Bring me five bright balloons, please.",
    ];

    /// <summary>
    /// festival's voices in other languages: nine more people's recorded voices (Debian packages no other English ones),
    /// in their own phone sets, speaking made-up words in their own spelling. The mouth makes the same shapes for the
    /// same sounds in any language; what the model should learn from them is speech in voices it has not heard. The
    /// trainer takes them only when asked (<see cref="TrainingOptions.Foreign"/>): they did not move the held-out
    /// scores beyond run-to-run noise (MODEL-CARD.md).
    /// </summary>
    // Declared before TrainingVoices: static initialisers run in order, and that list takes these in.
    public static IReadOnlyList<TtsVoice> ForeignVoices { get; } =
    [
        new(SpeechEngine.Festival, "lp_diphone", "it"), new(SpeechEngine.Festival, "pc_diphone", "it"),
        new(SpeechEngine.Festival, "czech_dita", "cs"), new(SpeechEngine.Festival, "czech_machac", "cs"),
        new(SpeechEngine.Festival, "czech_krb", "cs"), new(SpeechEngine.Festival, "czech_ph", "cs"),
        new(SpeechEngine.Festival, "suo_fi_lj_diphone", "fi"), new(SpeechEngine.Festival, "hy_fi_mv_diphone", "fi"),
        new(SpeechEngine.Festival, "upc_ca_ona_hts", "ca"),
    ];

    /// <summary>
    /// GnuSpeech's voices (an articulatory synthesizer's vocal tracts of 17.5, 15 and 12.5 cm): speakers unlike any
    /// other engine's, timed by the tract's own movements. The trainer takes them only when asked
    /// (<see cref="TrainingOptions.GnuSpeech"/>), so the shipped recipe draws what it drew before.
    /// </summary>
    // Declared before TrainingVoices, as ForeignVoices.
    public static IReadOnlyList<TtsVoice> GnuSpeechVoices { get; } =
        [new(SpeechEngine.GnuSpeech, "male"), new(SpeechEngine.GnuSpeech, "female"), new(SpeechEngine.GnuSpeech, "large_child")];

    /// <summary>The voices training draws from, engine by engine.</summary>
    public static IReadOnlyList<TtsVoice> TrainingVoices { get; } =
    [
        // espeak-ng's English voices ("en" is British) with its variants; the Scottish voice and the f2 variant are kept
        // for scoring an unheard espeak-ng voice without leaving the whole engine out.
        .. new[] { "en", "en-us", "en-gb-x-rp", "en-029", "en-us-nyc", "en-gb-x-gbclan", "en-gb-x-gbcwmd" }
            .SelectMany(v => new[] { "", "+m1", "+m2", "+m3", "+m4", "+m5", "+m6", "+m7", "+f1", "+f3", "+f4", "+f5" }.Select(variant => v + variant))
            .Select(v => new TtsVoice(SpeechEngine.EspeakNg, v)),
        new(SpeechEngine.Flite, "awb"), new(SpeechEngine.Flite, "rms"), new(SpeechEngine.Flite, "slt"),
        new(SpeechEngine.Festival, "ked_diphone"), new(SpeechEngine.Festival, "cmu_us_slt_arctic_hts"),
        .. ForeignVoices,
        .. GnuSpeechVoices,
    ];

    // Spelling that each language's festival front end reads as it should: onsets and vowels of made-up words.
    private static readonly Dictionary<string, (string[] Onsets, string[] Vowels)> s_spelling = new(StringComparer.Ordinal)
    {
        ["it"] = (["b", "c", "d", "f", "g", "l", "m", "n", "p", "r", "s", "t", "v", "z", "gn", "sc", "ch", "gl", "br", "tr", "pr", "st", "mb"],
            ["a", "e", "i", "o", "u", "ia", "uo"]),
        ["cs"] = (["b", "c", "d", "f", "h", "ch", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "st", "pr", "kr", "br"], ["a", "e", "i", "o", "u", "y"]),
        ["fi"] = (["h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "kk", "pp", "tt", "ll", "nn", "ss"], ["a", "e", "i", "o", "u", "y", "aa", "ee", "ii", "uu", "ai", "oi", "uo"]),
        ["ca"] = (["b", "c", "d", "f", "g", "l", "m", "n", "p", "r", "s", "t", "v", "x", "ll", "ny", "rr", "pl", "tr", "bl"], ["a", "e", "i", "o", "u", "ia", "ou"]),
    };

    /// <summary>Made-up words of one to four syllables in <paramref name="language"/>'s spelling.</summary>
    private static string Words(string language, int count, Random random)
    {
        var (onsets, vowels) = s_spelling[language];
        var words = Enumerable.Range(0, count).Select(_ =>
            string.Concat(Enumerable.Range(0, random.Next(1, 5)).Select(_ => onsets[random.Next(onsets.Length)] + vowels[random.Next(vowels.Length)]))
            + (random.Next(3) == 0 ? onsets[random.Next(onsets.Length)][..1] : ""));
        return string.Join(' ', words);
    }

    /// <summary>The reserved voice in every engine that has it: scored, never trained or tuned on.</summary>
    public static IReadOnlyList<TtsVoice> ReservedVoices { get; } =
        [new(SpeechEngine.Festival, "kal_diphone"), new(SpeechEngine.Flite, "kal"), new(SpeechEngine.Flite, "kal16")];

    /// <summary>
    /// The voices scored one by one: a few of each engine's, two espeak-ng voices that training never hears, and kal.
    /// GnuSpeech's are scored only beside training on it (<see cref="TrainingOptions.GnuSpeech"/>).
    /// </summary>
    public static IReadOnlyList<Utterance> EvaluationVoices { get; } =
    [
        new("", new(SpeechEngine.EspeakNg, "en-us"), 175 / 160.0, 50), new("", new(SpeechEngine.EspeakNg, "en-gb-scotland"), 175 / 190.0, 40),
        new("", new(SpeechEngine.EspeakNg, "en-us+f2"), 175 / 210.0, 65),
        new("", new(SpeechEngine.Flite, "awb")), new("", new(SpeechEngine.Flite, "rms")), new("", new(SpeechEngine.Flite, "slt")),
        new("", new(SpeechEngine.Festival, "ked_diphone")), new("", new(SpeechEngine.Festival, "cmu_us_slt_arctic_hts")),
        .. ReservedVoices.Select(v => new Utterance("", v)),
        .. GnuSpeechVoices.Select(v => new Utterance("", v)),
    ];

    /// <summary>
    /// Generates <paramref name="count"/> training clips, deterministic for a given seed: an engine at random (all equally
    /// often), one of its voices, a speed and a pitch. <paramref name="include"/> leaves engines or voices out.
    /// </summary>
    public static IReadOnlyList<LabelledClip> Training(int count, int seed, Func<TtsVoice, bool>? include = null)
    {
        var random = new Random(seed);
        // The voices in other languages are a group of their own, beside each engine's English voices, so they add
        // speakers without taking clips from English.
        var engines = TrainingVoices.Where(v => !v.IsReserved && (include?.Invoke(v) ?? true)).GroupBy(v => (v.Engine, v.Language == "en"))
            .Select(g => g.ToArray()).ToArray();
        var utterances = new List<Utterance>(count);
        for (var i = 0; i < count; i++)
        {
            // English words are drawn before the voice, even for a voice that will not say them: the shipped recipe's
            // draws stay exactly what they were before the other languages came.
            var words = Enumerable.Range(0, random.Next(5, 14)).Select(_ => s_words[random.Next(s_words.Length)]);
            var english = string.Join(' ', words) + (random.Next(3) == 0 ? ", " + s_words[random.Next(s_words.Length)] + "." : ".");
            var voices = engines[random.Next(engines.Length)];
            var voice = voices[random.Next(voices.Length)];
            var text = voice.Language == "en" ? english : Words(voice.Language, random.Next(4, 10), random) + (random.Next(3) == 0 ? ", " + Words(voice.Language, 2, random) + "." : ".");
            var stretch = 0.75 + (random.NextDouble() * 0.6);
            // espeak-ng's pitch is 0..100; flite's is the mean F0 in Hz, around each voice's own; festival keeps its own.
            var pitch = voice.Engine switch
            {
                SpeechEngine.EspeakNg => random.Next(25, 80),
                SpeechEngine.Flite => (voice.Name == "slt" ? 150 : 90) + random.Next(0, 70),
                _ => 0,
            };
            utterances.Add(new Utterance(text, voice, stretch, pitch));
        }
        return [.. SpeechEngines.Speak(utterances)];
    }

    /// <summary>The held-out sentences spoken as <paramref name="voice"/> (its speed and pitch) says.</summary>
    public static IReadOnlyList<LabelledClip> Evaluation(Utterance voice, int sentences = int.MaxValue) =>
        [.. SpeechEngines.Speak([.. EvaluationSentences.Take(sentences).Select(s => voice with { Text = s })])];

    /// <summary>The held-out sentences in every evaluation voice of <paramref name="engine"/>, kal excepted.</summary>
    public static IReadOnlyList<LabelledClip> Evaluation(SpeechEngine engine, int sentences = int.MaxValue) =>
        [.. EvaluationVoices.Where(v => v.Voice.Engine == engine && !v.Voice.IsReserved).SelectMany(v => Evaluation(v, sentences))];

    /// <summary>The held-out sentences in the reserved kal voices.</summary>
    public static IReadOnlyList<LabelledClip> Reserved(int sentences = int.MaxValue) =>
        [.. EvaluationVoices.Where(v => v.Voice.IsReserved).SelectMany(v => Evaluation(v, sentences))];

    /// <summary>Speaks a sentence with espeak-ng, resampled to 16 kHz on the same time base as its phoneme events.</summary>
    public static LabelledClip Speak(string text, SpeechOptions options) =>
        SpeechEngines.Speak(new Utterance(text, new TtsVoice(SpeechEngine.EspeakNg, options.Voice), 175.0 / options.WordsPerMinute, options.Pitch));
}
