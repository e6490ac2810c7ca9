using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Avatar.A2F.Inference.LipSync;

/// <summary>
/// <c>Avatar.A2F.Inference model train|evaluate</c>: builds the lip-sync model from the speech of several engines and
/// scores it against LIPSYNC.md's metric, voice by voice and leaving each engine out, beside the loudness-only peer.
/// <c>make model</c> and <c>make eval</c> run these.
/// </summary>
public static class LipSyncCommands
{
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    /// <summary>Where the shipped model lives beside the service's assembly.</summary>
    public static string DefaultModelPath => Path.Combine(AppContext.BaseDirectory, "Models", "lipsync.onnx");

    /// <summary>Runs a model command; returns the process exit code (1 when the model misses a bar).</summary>
    public static int Run(string[] args)
    {
        var options = args.Skip(2).Select(a => a.Split('=', 2)).Where(p => p.Length == 2 && p[0].StartsWith("--", StringComparison.Ordinal))
            .ToDictionary(p => p[0][2..], p => p[1]);
        var training = Training(options);
        switch (args.ElementAtOrDefault(1))
        {
            case "train":
                var output = options.GetValueOrDefault("output") ?? Path.Combine(Repository.Root, "Avatar.A2F.Inference", "Models", "lipsync.onnx");
                var watch = Stopwatch.StartNew();
                var members = LipSyncTrainer.TrainMembers(training, Console.WriteLine);
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
                File.WriteAllBytes(output, OnnxVisemeModel.Export(members));
                Console.WriteLine($"trained in {watch.Elapsed.TotalSeconds:0} s; wrote {output}");
                return Evaluate(output, training, leaveOut: []);
            case "evaluate":
                // --leave-out=none, or engines (Flite,Festival) to leave out one at a time; every engine trained on by default.
                var leaveOut = options.GetValueOrDefault("leave-out") is { } names
                    ? names.Split(',').Where(n => n != "none").Select(Enum.Parse<SpeechEngine>).ToArray()
                    : [.. training.Engines];
                float Setting(string name, float value) => options.TryGetValue(name, out var text) ? float.Parse(text, CultureInfo.InvariantCulture) : value;
                var defaults = VisemeCalibration.Default;
                var calibration = new VisemeCalibration(Setting("sharpness", defaults.Sharpness), Setting("closure-gain", defaults.ClosureGain),
                    Setting("rounding-gain", defaults.RoundingGain), Setting("silence-gain", defaults.SilenceGain));
                return Evaluate(options.GetValueOrDefault("model") ?? DefaultModelPath, training, leaveOut, calibration,
                    options.GetValueOrDefault("reuse-left-out") == "true");
            case "labels":
                Labels();
                return 0;
            default:
                Console.Error.WriteLine("usage: Avatar.A2F.Inference model labels");
                Console.Error.WriteLine("       Avatar.A2F.Inference model train [--output=PATH] [--clips=N] [--epochs=N] [--foreign=true] [--gnuspeech=true] [--seed=N] [--warp=X] [--band-mask=X] [--label-smoothing=X] [--members=N] [--dropout=X] [--dropout-epochs=N] [--dropout-members=N]");
                Console.Error.WriteLine("       Avatar.A2F.Inference model evaluate [--model=PATH] [--leave-out=none|ENGINE,...] [--clips=N] [--epochs=N] [--foreign=true] [--gnuspeech=true] [--seed=N] [--warp=X] [--band-mask=X] [--label-smoothing=X] [--members=N] [--dropout=X] [--dropout-epochs=N] [--dropout-members=N] [--sharpness=X] [--closure-gain=X] [--rounding-gain=X] [--silence-gain=X] [--reuse-left-out=true]");
                return 2;
        }
    }

    private static TrainingOptions Training(Dictionary<string, string> options)
    {
        var defaults = new TrainingOptions();
        return defaults with
        {
            Clips = options.TryGetValue("clips", out var clips) ? int.Parse(clips, CultureInfo.InvariantCulture) : defaults.Clips,
            Epochs = options.TryGetValue("epochs", out var epochs) ? int.Parse(epochs, CultureInfo.InvariantCulture) : defaults.Epochs,
            Foreign = options.TryGetValue("foreign", out var foreign) ? bool.Parse(foreign) : defaults.Foreign,
            GnuSpeech = options.TryGetValue("gnuspeech", out var gnuSpeech) ? bool.Parse(gnuSpeech) : defaults.GnuSpeech,
            Seed = options.TryGetValue("seed", out var seed) ? int.Parse(seed, CultureInfo.InvariantCulture) : defaults.Seed,
            Warp = options.TryGetValue("warp", out var warp) ? float.Parse(warp, CultureInfo.InvariantCulture) : defaults.Warp,
            BandMask = options.TryGetValue("band-mask", out var mask) ? float.Parse(mask, CultureInfo.InvariantCulture) : defaults.BandMask,
            LabelSmoothing = options.TryGetValue("label-smoothing", out var smoothing) ? float.Parse(smoothing, CultureInfo.InvariantCulture) : defaults.LabelSmoothing,
            Members = options.TryGetValue("members", out var members) ? int.Parse(members, CultureInfo.InvariantCulture) : defaults.Members,
            Dropout = options.TryGetValue("dropout", out var dropout) ? float.Parse(dropout, CultureInfo.InvariantCulture) : defaults.Dropout,
            DropoutEpochs = options.TryGetValue("dropout-epochs", out var dropoutEpochs) ? int.Parse(dropoutEpochs, CultureInfo.InvariantCulture) : defaults.DropoutEpochs,
            DropoutMembers = options.TryGetValue("dropout-members", out var dropoutMembers) ? int.Parse(dropoutMembers, CultureInfo.InvariantCulture) : defaults.DropoutMembers,
        };
    }

    /// <summary>
    /// Prints where each teacher's p and b labels sit against the closure's silence, and how far two teachers' labels
    /// agree on the held-out sentences (<see cref="TeacherLabels"/>); two voices of one engine are the alignment's control.
    /// </summary>
    private static void Labels()
    {
        var voices = new (string Name, Utterance Voice)[]
        {
            ("espeak-ng en-us", SpeechCorpus.EvaluationVoices[0]), ("espeak-ng en-us+m3", SpeechCorpus.EvaluationVoices[0] with { Voice = new(SpeechEngine.EspeakNg, "en-us+m3") }),
            ("flite awb", new("", new(SpeechEngine.Flite, "awb"))), ("flite rms", new("", new(SpeechEngine.Flite, "rms"))),
            ("festival ked", new("", new(SpeechEngine.Festival, "ked_diphone"))), ("festival slt", new("", new(SpeechEngine.Festival, "cmu_us_slt_arctic_hts"))),
            ("gnuspeech male", new("", new(SpeechEngine.GnuSpeech, "male"))), ("gnuspeech female", new("", new(SpeechEngine.GnuSpeech, "female"))),
        };
        var clips = voices.ToDictionary(v => v.Name, v => SpeechCorpus.Evaluation(v.Voice));
        Console.WriteLine($"p and b segments' middle half, dB under the loudest, with the labels shifted by (ms):");
        Console.WriteLine($"{"voice",-20} {"n",4} {string.Join(" ", TeacherLabels.Shifts.Select(s => $"{s,6}"))}  quietest");
        foreach (var (name, _) in voices)
        {
            var (count, levels) = TeacherLabels.ClosureLevels(clips[name]);
            Console.WriteLine($"{name,-20} {count,4} {string.Join(" ", levels.Select(l => $"{l,6:0.0}"))}  {TeacherLabels.Shifts[Array.IndexOf(levels, levels.Min())],5} ms");
        }
        Console.WriteLine("reference openness of A carried onto B's frames (aligned on the sound) against B's own:");
        foreach (var (a, b) in voices.Zip(voices.Skip(1)).Where((_, i) => i % 2 == 0).Select(p => (p.First.Name, p.Second.Name))
            .Concat(voices.Where((_, i) => i % 2 == 0).SelectMany((x, i) => voices.Where((_, j) => j % 2 == 0).Skip(i + 1).Select(y => (x.Name, y.Name)))))
        {
            foreach (var (from, to) in a.Split(' ')[0] == b.Split(' ')[0] ? [(a, b)] : new[] { (a, b), (b, a) })
            {
                var (r, best, lag) = TeacherLabels.Agreement(clips[from], clips[to]);
                Console.WriteLine($"{from,-20} on {to,-20} r {r:0.00}  best {best:0.00} at {lag,3} ms");
            }
        }
        // What a model taught by the other engines could reach at best: their labels, every evaluation voice of theirs, averaged.
        Console.WriteLine("the other engines' reference openness, averaged over their evaluation voices, on each held-out engine's voices:");
        var scored = SpeechCorpus.EvaluationVoices.Where(v => !v.Voice.IsReserved && v.Voice.Engine != SpeechEngine.GnuSpeech).ToList();
        var spoken = scored.ToDictionary(v => v.Voice, v => SpeechCorpus.Evaluation(v));
        foreach (var target in scored)
        {
            var teachers = scored.Where(v => v.Voice.Engine != target.Voice.Engine).Select(v => spoken[v.Voice]).ToList();
            var (r, best, lag) = TeacherLabels.Consensus(teachers, spoken[target.Voice]);
            Console.WriteLine($"{teachers.Count} voices on {target.Voice,-34} r {r:0.00}  best {best:0.00} at {lag,3} ms");
        }
    }

    /// <summary>
    /// Scores the model voice by voice (kal included), then trains one model per engine of <paramref name="leaveOut"/>
    /// without that engine and scores it on the engine it never heard: the bars apply to those rows and to kal.
    /// </summary>
    /// <remarks>
    /// Each model trained without an engine is kept in artifacts/lipsync/left-out/; <paramref name="reuseLeftOut"/> scores
    /// those instead of training again, for trying settings after the model (the calibration) in minutes, not a quarter hour.
    /// </remarks>
    private static int Evaluate(string modelPath, TrainingOptions training, SpeechEngine[] leaveOut, VisemeCalibration? calibration = null,
        bool reuseLeftOut = false)
    {
        using var model = new OnnxVisemeModel(modelPath);
        var rows = new List<(string HeldOut, LipSyncScore Model, LipSyncScore Loudness, bool Barred)>();
        void Add(string heldOut, IVisemeModel system, IReadOnlyList<LabelledClip> clips, bool barred)
        {
            rows.Add((heldOut, LipSyncEvaluator.Evaluate(system, clips, calibration: calibration), LipSyncEvaluator.EvaluateLoudnessBaseline(clips), barred));
            Print(rows[^1]);
        }
        Console.WriteLine($"{"held out",-52} {"system",-9} {"r lag0",6} {"best r",6} {"lag ms",6} {"pbm/open",8} {"round-spread",12} {"silence",7}");
        foreach (var voice in SpeechCorpus.EvaluationVoices.Where(v => training.Engines.Contains(v.Voice.Engine)))
        {
            var unheard = voice.Voice.IsReserved || !SpeechCorpus.TrainingVoices.Contains(voice.Voice) || !training.Includes(voice.Voice);
            Add($"{voice.Voice} ({(voice.Voice.IsReserved ? "reserved" : unheard ? "unheard voice" : "unheard sentences")})",
                model, SpeechCorpus.Evaluation(voice), voice.Voice.IsReserved);
        }
        var directory = Path.Combine(Repository.Root, "artifacts", "lipsync");
        // Models and scores of another recipe (with GnuSpeech, another seed) are kept apart from the shipped recipe's, to compare them.
        var shipped = new TrainingOptions();
        var recipe = (training.GnuSpeech ? "-gnuspeech" : "") + (training.Seed != shipped.Seed ? $"-seed{training.Seed}" : "")
            + string.Concat(new (string Name, float Value, float Shipped)[]
                {
                    ("warp", training.Warp, shipped.Warp), ("mask", training.BandMask, shipped.BandMask),
                    ("smoothing", training.LabelSmoothing, shipped.LabelSmoothing), ("members", training.Members, shipped.Members),
                    ("dropout", training.Dropout, shipped.Dropout), ("dropout-epochs", training.DropoutEpochs, shipped.DropoutEpochs),
                    ("dropout-members", training.DropoutMembers, shipped.DropoutMembers),
                }
                .Where(k => k.Value != k.Shipped).Select(k => FormattableString.Invariant($"-{k.Name}{k.Value}")));
        Directory.CreateDirectory(Path.Combine(directory, "left-out"));
        foreach (var engine in leaveOut)
        {
            var saved = Path.Combine(directory, "left-out", $"without-{engine}{recipe}.onnx");
            if (!reuseLeftOut || !File.Exists(saved))
            {
                Console.WriteLine($"training without {engine} ...");
                File.WriteAllBytes(saved, OnnxVisemeModel.Export(LipSyncTrainer.TrainMembers(training with { Without = engine })));
            }
            using var network = new OnnxVisemeModel(saved);
            Add($"engine {engine} (trained without it)", network, SpeechCorpus.Evaluation(engine), barred: true);
        }
        var file = leaveOut.Length > 0 && leaveOut.Length < training.Engines.Count ? $"evaluation-{string.Join('-', leaveOut)}{recipe}.json" : $"evaluation{recipe}.json";
        File.WriteAllText(Path.Combine(directory, file), JsonSerializer.Serialize(
            rows.Select(r => new { r.HeldOut, r.Model, r.Loudness, Failures = r.Model.HeldOutFailures() }), s_json));
        var failures = rows.Where(r => r.Barred).SelectMany(r => r.Model.HeldOutFailures().Select(f => $"{r.HeldOut}: {f}")).ToList();
        Console.WriteLine(failures.Count == 0 ? "every held-out engine and the reserved voice meet the bars" : "bars missed:\n  " + string.Join("\n  ", failures));
        return failures.Count == 0 ? 0 : 1;
    }

    private static void Print((string HeldOut, LipSyncScore Model, LipSyncScore Loudness, bool Barred) row)
    {
        foreach (var (s, name) in new[] { (row.Model, "model"), (row.Loudness, "loudness") })
        {
            Console.WriteLine($"{(name == "model" ? row.HeldOut : ""),-52} {name,-9} {s.JawCorrelation,6:0.00} {s.BestLagCorrelation,6:0.00} {s.LagMilliseconds,6} " +
                $"{s.ClosureRatio,8:0.00} {s.RoundingDifference,12:0.00} {s.SilenceJaw,7:0.000}");
        }
    }
}
