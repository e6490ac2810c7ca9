using Avatar.A2F.Contracts;
using Avatar.Espeak;

namespace Avatar.A2F.Inference.LipSync;

/// <summary>A clip of speech at 16 kHz with the phoneme active at each moment (espeak-ng's own timings).</summary>
/// <param name="Samples">16 kHz mono samples in [-1, 1].</param>
/// <param name="Phonemes">espeak-ng phoneme events, in order.</param>
/// <param name="Description">Voice, speed and text, for reports.</param>
public sealed record LabelledClip(float[] Samples, IReadOnlyList<PhonemeEvent> Phonemes, string Description)
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
        return seconds > Samples.Length / 16000.0 ? new PhonemeClass(Viseme.Sil, 0) : LipSync.Phonemes.Classify(active);
    }
}

/// <summary>
/// Speech made with espeak-ng for training and evaluating the lip-sync model: several voices, speeds and pitches. Training
/// text is generated from a word list with a seeded random generator; evaluation uses separate, fixed sentences and voices
/// the training never hears at those settings.
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

    /// <summary>Voice settings of the evaluation set.</summary>
    public static IReadOnlyList<SpeechOptions> EvaluationVoices { get; } =
    [
        // A Scottish voice and the f2 variant never occur in training.
        new("en-us", 160, 50), new("en-gb-scotland", 190, 40), new("en-us+f2", 210, 65),
    ];

    /// <summary>Generates <paramref name="count"/> training clips, deterministic for a given seed.</summary>
    public static IEnumerable<LabelledClip> Training(int count, int seed)
    {
        var random = new Random(seed);
        // espeak-ng names voices by file: "en" is British English.
        string[] voices = ["en-us", "en", "en-us+f3", "en-us+m3", "en+f4", "en-us+m1", "en+m2", "en-us+f1", "en-029", "en-gb-x-rp", "en-us-nyc+f5"];
        for (var i = 0; i < count; i++)
        {
            var words = Enumerable.Range(0, random.Next(5, 14)).Select(_ => s_words[random.Next(s_words.Length)]);
            var text = string.Join(' ', words) + (random.Next(3) == 0 ? ", " + s_words[random.Next(s_words.Length)] + "." : ".");
            var options = new SpeechOptions(voices[random.Next(voices.Length)], random.Next(120, 260), random.Next(25, 80));
            yield return Speak(text, options);
        }
    }

    /// <summary>The evaluation clips: every held-out sentence in every evaluation voice.</summary>
    public static IEnumerable<LabelledClip> Evaluation(int sentences = int.MaxValue)
    {
        foreach (var options in EvaluationVoices)
        {
            foreach (var sentence in EvaluationSentences.Take(sentences))
            {
                yield return Speak(sentence, options);
            }
        }
    }

    /// <summary>Speaks a sentence and resamples it to 16 kHz on the same time base as its phoneme events.</summary>
    public static LabelledClip Speak(string text, SpeechOptions options)
    {
        var clip = EspeakSynthesizer.Synthesize(text, options);
        var samples = new float[clip.Samples.Length];
        for (var i = 0; i < samples.Length; i++)
        {
            samples[i] = clip.Samples[i] / 32768f;
        }
        return new LabelledClip(AudioResampler.Resample(samples, clip.SampleRate), clip.Phonemes,
            $"{options.Voice} {options.WordsPerMinute} wpm: {text}");
    }
}
