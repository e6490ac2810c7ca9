using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Avatar.A2F.Inference.LipSync;

/// <summary>
/// <c>Avatar.A2F.Inference model train|evaluate</c>: builds the lip-sync model from espeak-ng speech and scores it
/// against LIPSYNC.md's metric, beside the loudness-only peer. <c>make model</c> and <c>make eval</c> run these.
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
        switch (args.ElementAtOrDefault(1))
        {
            case "train":
                var output = options.GetValueOrDefault("output") ?? Path.Combine(RepositoryRoot(), "Avatar.A2F.Inference", "Models", "lipsync.onnx");
                var training = new TrainingOptions(
                    int.Parse(options.GetValueOrDefault("clips") ?? "400", CultureInfo.InvariantCulture),
                    int.Parse(options.GetValueOrDefault("epochs") ?? "12", CultureInfo.InvariantCulture));
                var watch = Stopwatch.StartNew();
                var network = LipSyncTrainer.Train(training, Console.WriteLine);
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
                File.WriteAllBytes(output, OnnxVisemeModel.Export(network));
                Console.WriteLine($"trained in {watch.Elapsed.TotalSeconds:0} s; wrote {output}");
                return Evaluate(output);
            case "evaluate":
                return Evaluate(options.GetValueOrDefault("model") ?? DefaultModelPath);
            default:
                Console.Error.WriteLine("usage: Avatar.A2F.Inference model train [--output=PATH] [--clips=N] [--epochs=N]");
                Console.Error.WriteLine("       Avatar.A2F.Inference model evaluate [--model=PATH]");
                return 2;
        }
    }

    private static int Evaluate(string modelPath)
    {
        var clips = SpeechCorpus.Evaluation().ToList();
        using var model = new OnnxVisemeModel(modelPath);
        LipSyncScore[] scores = [LipSyncEvaluator.Evaluate(model, clips, "lip-sync model (ONNX)"), LipSyncEvaluator.EvaluateLoudnessBaseline(clips)];
        Console.WriteLine($"held-out: {clips.Count} clips, {scores[0].Frames} frames at 30 FPS");
        Console.WriteLine($"{"system",-36} {"corr",6} {"best",6} {"lag ms",7} {"closure",8} {"rounding",9} {"silence",8} {"jitter",7}");
        foreach (var s in scores)
        {
            Console.WriteLine($"{s.System,-36} {s.JawCorrelation,6:0.00} {s.BestLagCorrelation,6:0.00} {s.LagMilliseconds,7} {s.ClosureRatio,8:0.00} {s.RoundingRatio,9:0.00} {s.SilenceJaw,8:0.000} {s.Jitter,7:0.000}");
        }
        var directory = Path.Combine(RepositoryRoot(), "artifacts", "lipsync");
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "evaluation.json"), JsonSerializer.Serialize(scores, s_json));
        var failures = scores[0].Failures();
        Console.WriteLine(failures.Count == 0 ? "the model meets every bar" : "bars missed: " + string.Join("; ", failures));
        return failures.Count == 0 ? 0 : 1;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Avatar.sln")))
            {
                return dir.FullName;
            }
        }
        return Directory.GetCurrentDirectory();
    }
}
