using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Avatar.A2F.Contracts;
using Avatar.Espeak;

namespace Avatar.A2F.Inference.LipSync;

/// <summary>A text-to-speech engine that teaches the model; each names its phones in its own phone set.</summary>
public enum SpeechEngine
{
    /// <summary>espeak-ng through libespeak-ng, in process; phones in espeak-ng's mnemonics.</summary>
    EspeakNg,
    /// <summary>CMU flite, its command line (<c>-psdur</c> prints each segment's end); phones in CMU's (ARPAbet) set.</summary>
    Flite,
    /// <summary>Festival in batch mode (a Scheme script prints each Segment's end); phones in CMU's (ARPAbet) set.</summary>
    Festival,
    /// <summary>
    /// GnuSpeech, an articulatory synthesizer (a tube model of the vocal tract), through node and LipSync/gnuspeech/speak.mjs;
    /// phones are its postures (monet.xml's names), timed by its own rules.
    /// </summary>
    GnuSpeech,
}

/// <summary>A voice of an engine.</summary>
/// <param name="Engine">The engine.</param>
/// <param name="Name">The engine's name for it: "en-us+f3" (espeak-ng), "slt" (flite), "ked_diphone" (festival), "female" (GnuSpeech).</param>
/// <param name="Language">The language it speaks (ISO 639-1), whose phone set it names its phones in.</param>
public sealed record TtsVoice(SpeechEngine Engine, string Name, string Language = "en")
{
    /// <summary>The kal voice (festival's kal_diphone, flite's kal and kal16) is kept for independent evaluation only.</summary>
    public bool IsReserved => Name.StartsWith("kal", StringComparison.Ordinal);

    /// <inheritdoc />
    public override string ToString() =>
        $"{Engine switch { SpeechEngine.EspeakNg => "espeak-ng", SpeechEngine.Flite => "flite", SpeechEngine.GnuSpeech => "gnuspeech", _ => "festival" }} {Name}";
}

/// <summary>What to say and how.</summary>
/// <param name="Text">The text.</param>
/// <param name="Voice">The voice.</param>
/// <param name="Stretch">Duration factor (above 1 is slower).</param>
/// <param name="Pitch">espeak-ng's pitch (0..100) or flite's mean F0 in Hz; 0 leaves the voice's own (festival and GnuSpeech always do).</param>
public sealed record Utterance(string Text, TtsVoice Voice, double Stretch = 1, int Pitch = 0)
{
    /// <summary>The name its clip is cached under: a hash of what was asked, which also seeds GnuSpeech's random intonation.</summary>
    public string Key => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(
        $"{Voice.Engine}|{Voice.Name}|{Stretch.ToString("0.000", CultureInfo.InvariantCulture)}|{Pitch}|{Text}")))[..24].ToLowerInvariant();
}

/// <summary>
/// Speaks utterances with espeak-ng, flite, festival or GnuSpeech and returns 16 kHz audio with the engine's own phone
/// timings. flite, festival and GnuSpeech run as processes (a few hundred ms each), so their clips are cached on disk by a
/// hash of what was asked; the engines are deterministic (GnuSpeech's random intonation is seeded by that hash), so a
/// cached clip is the clip they would make again and training stays reproducible.
/// </summary>
public static class SpeechEngines
{
    /// <summary>Where flite, festival and GnuSpeech clips are cached: artifacts/lipsync/speech in the repository.</summary>
    public static string CacheDirectory { get; set; } = Path.Combine(Repository.Root, "artifacts", "lipsync", "speech");

    /// <summary>Speaks every utterance, in order; flite, festival and GnuSpeech clips missing from the cache are made first, in batches.</summary>
    public static IEnumerable<LabelledClip> Speak(IReadOnlyList<Utterance> utterances)
    {
        Prepare(utterances);
        return utterances.Select(Speak);
    }

    /// <summary>Speaks one utterance.</summary>
    public static LabelledClip Speak(Utterance utterance)
    {
        if (utterance.Voice.Engine == SpeechEngine.EspeakNg)
        {
            var wpm = (int)Math.Round(175 / utterance.Stretch);
            var spoken = EspeakSynthesizer.Synthesize(utterance.Text, new SpeechOptions(utterance.Voice.Name, wpm, utterance.Pitch == 0 ? 50 : utterance.Pitch));
            return FromEspeak(spoken, utterance.Voice, $"{utterance.Voice} {wpm} wpm: {utterance.Text}");
        }
        Prepare([utterance]);
        var path = Path.Combine(CacheDirectory, utterance.Key);
        var (audio, rate) = ReadWave(path + ".wav");
        return new LabelledClip(AudioResampler.Resample(audio, rate), ReadPhones(path + ".phones"), utterance.Voice,
            $"{utterance.Voice} x{utterance.Stretch:0.00}: {utterance.Text}");
    }

    private static void Prepare(IReadOnlyList<Utterance> utterances)
    {
        Directory.CreateDirectory(CacheDirectory);
        var missing = utterances.Where(u => u.Voice.Engine != SpeechEngine.EspeakNg && !File.Exists(Path.Combine(CacheDirectory, u.Key + ".phones")))
            .DistinctBy(u => u.Key).ToList();
        Parallel.ForEach(missing.Where(u => u.Voice.Engine == SpeechEngine.Flite), new ParallelOptions { MaxDegreeOfParallelism = 2 }, Flite);
        foreach (var voice in missing.Where(u => u.Voice.Engine == SpeechEngine.Festival).GroupBy(u => u.Voice))
        {
            // One festival per voice and batch of 200: loading a voice costs about a second.
            foreach (var batch in voice.Chunk(200))
            {
                Festival(voice.Key, batch);
            }
        }
        // One node per batch of 100 (starting GnuSpeech costs about a second), two at a time.
        var gnuSpeech = missing.Where(u => u.Voice.Engine == SpeechEngine.GnuSpeech).Chunk(100);
        Parallel.ForEach(gnuSpeech, new ParallelOptions { MaxDegreeOfParallelism = 2 }, GnuSpeech);
    }

    private static void Flite(Utterance u)
    {
        var path = Path.Combine(CacheDirectory, u.Key);
        var temporary = Temporary();
        List<string> args = ["-voice", u.Voice.Name, "--setf", $"duration_stretch={u.Stretch.ToString("0.000", CultureInfo.InvariantCulture)}"];
        if (u.Pitch > 0)
        {
            args.AddRange(["--setf", $"int_f0_target_mean={u.Pitch}"]);
        }
        args.AddRange(["-psdur", "-t", u.Text, "-o", path + temporary + ".wav"]);
        var output = RunTool("flite", args, stdin: null);
        // "pau:0.193 p:0.242 aa:0.384 ...": each phone with the time it ends.
        var phones = output.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(p => p.Replace(':', ' '));
        File.WriteAllText(path + temporary + ".phones", string.Join('\n', phones) + "\n");
        Publish(path, temporary);
    }

    private static void Festival(TtsVoice voice, IEnumerable<Utterance> batch)
    {
        var script = new StringBuilder($"(voice_{voice.Name})\n");
        var temporary = Temporary();
        foreach (var u in batch)
        {
            var path = Path.Combine(CacheDirectory, u.Key);
            script.Append(CultureInfo.InvariantCulture, $"""
                (Parameter.set 'Duration_Stretch {u.Stretch:0.000})
                (set! utt (SynthText "{u.Text.Replace("\\", "", StringComparison.Ordinal).Replace("\"", "", StringComparison.Ordinal)}"))
                (utt.save.wave utt "{path}{temporary}.wav" 'riff)
                (set! fd (fopen "{path}{temporary}.phones" "w"))
                (mapcar (lambda (s) (format fd "%s %f\n" (item.name s) (item.feat s "end"))) (utt.relation.items utt 'Segment))
                (fclose fd)

                """);
        }
        RunTool("festival", ["--pipe"], script.ToString());
        foreach (var u in batch)
        {
            Publish(Path.Combine(CacheDirectory, u.Key), temporary);
        }
    }

    /// <summary>espeak-ng's clip at 16 kHz, its voiceless stops moved to their closures (<see cref="StopsFromTheirClosure"/>).</summary>
    public static LabelledClip FromEspeak(SpeechClip spoken, TtsVoice voice, string description)
    {
        var samples = AudioResampler.Resample(spoken.Samples.Select(s => s / 32768f).ToArray(), spoken.SampleRate);
        return new LabelledClip(samples, StopsFromTheirClosure(samples, spoken.Phonemes), voice, description);
    }

    /// <summary>
    /// espeak-ng reports a voiceless stop (p, t, k) at its burst, and the sound after it some 30 ms later, after
    /// the aspiration: the silence of the closure, when the lips (or the tongue) are shut, counts as the sound before the
    /// stop, and the burst, when they open, as the stop. Measured on the evaluation sentences, the middle of its p and b
    /// labels sat 30-40 ms after the middle of the closure, where flite's, festival's and GnuSpeech's sit within 10 ms of
    /// it. So the silence before the burst (50 dB under the clip's loudest 5 ms, ending between 15 ms before and 30 ms
    /// after the reported start, at most 150 ms of it) becomes the stop's, unless a pause comes before it, and the sound after the stop
    /// starts 5 ms into the burst. Voiced stops (b, d, g) are reported at their closure already, which has a voice bar,
    /// not silence, so nothing is found before them.
    /// </summary>
    internal static IReadOnlyList<PhonemeEvent> StopsFromTheirClosure(float[] samples, IReadOnlyList<PhonemeEvent> phonemes)
    {
        var level = Levels(samples, LogMelSpectrogram.SampleRate / 200);
        var quiet = (level.Length == 0 ? 0 : level.Max()) - 50;
        var placed = phonemes.ToList();
        for (var i = 0; i < placed.Count; i++)
        {
            // Before the first phone is the clip's opening silence: a pause.
            var (name, previous) = (placed[i].Name, i > 0 ? placed[i - 1].Name : "_");
            // Not ch (tS): its release is a fricative that the sound after it does not start with.
            if (name.Length == 0 || name[0] is not ('p' or 't' or 'k') || name.StartsWith("tS", StringComparison.Ordinal))
            {
                continue;
            }
            var at = (int)(placed[i].Start.TotalSeconds * 200);
            var floor = Math.Max(i > 0 ? (int)(placed[i - 1].Start.TotalSeconds * 200) + 2 : 0, at - 30);
            // The burst: where the silence that surrounds the reported start ends (it may go on up to 30 ms past it), or
            // where the sound began up to 15 ms before it; then back through the silence to the closure.
            var end = Math.Min(at, level.Length);
            while (end < Math.Min(at + 6, level.Length) && level[end] < quiet)
            {
                end++;
            }
            while (end > at - 3 && end > floor && level[end - 1] >= quiet)
            {
                end--;
            }
            var start = end;
            while (start > floor && level[start - 1] < quiet)
            {
                start--;
            }
            if (end - start < 2)
            {
                continue;
            }
            if (previous.Length > 0 && previous[0] != '_')
            {
                placed[i] = placed[i] with { Start = TimeSpan.FromSeconds(start / 200.0) };
            }
            var burst = TimeSpan.FromSeconds((end + 1) / 200.0);
            if (i + 1 < placed.Count && burst < placed[i + 1].Start && burst > placed[i].Start)
            {
                placed[i + 1] = placed[i + 1] with { Start = burst };
            }
        }
        return placed;
    }

    /// <summary>The level (dB) of each whole block of <paramref name="step"/> samples.</summary>
    internal static double[] Levels(float[] samples, int step)
    {
        var level = new double[samples.Length / step];
        for (var k = 0; k < level.Length; k++)
        {
            level[k] = 10 * Math.Log10((System.Numerics.Tensors.TensorPrimitives.SumOfSquares(samples.AsSpan(k * step, step)) / step) + 1e-12);
        }
        return level;
    }

    private static readonly string s_gnuSpeech = Path.Combine(Repository.Root, "Avatar.A2F.Inference", "LipSync", "gnuspeech");

    private static void GnuSpeech(Utterance[] batch)
    {
        if (!Directory.Exists(Path.Combine(s_gnuSpeech, "node_modules", "@echogarden", "gnuspeech-wasm")))
        {
            throw new InvalidOperationException($"GnuSpeech is not installed in {s_gnuSpeech} (eng/setup.sh installs it with npm ci).");
        }
        var temporary = Temporary();
        // GnuSpeech's tempo is a speed: the inverse of the stretch.
        var request = new
        {
            directory = CacheDirectory,
            temporary,
            utterances = batch.Select(u => new { key = u.Key, text = u.Text, voice = u.Voice.Name, tempo = Math.Round(1 / u.Stretch, 3) }),
        };
        RunTool("node", [Path.Combine(s_gnuSpeech, "speak.mjs")], JsonSerializer.Serialize(request));
        foreach (var u in batch)
        {
            Publish(Path.Combine(CacheDirectory, u.Key), temporary);
        }
    }

    private static string RunTool(string tool, IEnumerable<string> args, string? stdin)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"{tool} is not installed (eng/setup.sh installs it): {ex.Message}", ex);
        }
        using (process)
        {
            if (stdin is not null)
            {
                process.StandardInput.Write(stdin);
                process.StandardInput.Close();
            }
            var error = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{tool} failed ({process.ExitCode}): {error.Result}");
            }
            return output;
        }
    }

    private static int s_writes;

    // Engines write under a name of this process's and this call's own: two processes (tests, make eval), or two tests
    // in one process, making the same clip at once never write into one file, read a half-written one or move each
    // other's (a shared per-process name once gave a test different audio on a clean clone). The phones go last: they
    // mark the clip complete.
    private static string Temporary() => $".{Environment.ProcessId}.{Interlocked.Increment(ref s_writes)}.tmp";

    private static void Publish(string path, string temporary)
    {
        File.Move(path + temporary + ".wav", path + ".wav", overwrite: true);
        File.Move(path + temporary + ".phones", path + ".phones", overwrite: true);
    }

    /// <summary>"name end-seconds" lines to phones with their start times (each starts where the one before ended).</summary>
    private static List<PhonemeEvent> ReadPhones(string path)
    {
        var phones = new List<PhonemeEvent>();
        var start = 0.0;
        foreach (var line in File.ReadAllLines(path).Where(l => l.Length > 0))
        {
            var parts = line.Split(' ');
            phones.Add(new PhonemeEvent(parts[0], TimeSpan.FromSeconds(start)));
            start = double.Parse(parts[1], CultureInfo.InvariantCulture);
        }
        return phones;
    }

    /// <summary>A 16-bit mono PCM RIFF file: its samples in [-1, 1] and its rate.</summary>
    internal static (float[] Samples, int Rate) ReadWave(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var rate = 0;
        for (var offset = 12; offset + 8 <= bytes.Length;)
        {
            var id = Encoding.ASCII.GetString(bytes, offset, 4);
            var size = BitConverter.ToInt32(bytes, offset + 4);
            if (id == "fmt ")
            {
                rate = BitConverter.ToInt32(bytes, offset + 12);
            }
            else if (id == "data")
            {
                size = Math.Min(size, bytes.Length - offset - 8);
                var samples = new float[size / 2];
                for (var i = 0; i < samples.Length; i++)
                {
                    samples[i] = BitConverter.ToInt16(bytes, offset + 8 + (2 * i)) / 32768f;
                }
                return (samples, rate);
            }
            offset += 8 + size + (size & 1);
        }
        throw new InvalidDataException($"{path} has no PCM data.");
    }
}
