using System.Diagnostics;

namespace Avatar.A2F.Inference.LipSync;

/// <summary>
/// <c>Avatar.A2F.Inference model train|evaluate</c>: builds the lip-sync model from espeak-ng speech and scores it.
/// </summary>
public static class LipSyncCommands
{
    /// <summary>Runs a model command; returns the process exit code.</summary>
    public static int Run(string[] args)
    {
        var clips = args.Skip(2).FirstOrDefault(a => a.StartsWith("--clips=", StringComparison.Ordinal)) is { } c ? int.Parse(c[8..], System.Globalization.CultureInfo.InvariantCulture) : 400;
        var epochs = args.Skip(2).FirstOrDefault(a => a.StartsWith("--epochs=", StringComparison.Ordinal)) is { } e ? int.Parse(e[9..], System.Globalization.CultureInfo.InvariantCulture) : 12;
        switch (args.ElementAtOrDefault(1))
        {
            case "train":
                var watch = Stopwatch.StartNew();
                var network = LipSyncTrainer.Train(new TrainingOptions(clips, epochs), Console.WriteLine);
                Console.WriteLine($"trained in {watch.Elapsed.TotalSeconds:0} s");
                var evaluation = SpeechCorpus.Evaluation().ToList();
                var scores = new[] { LipSyncEvaluator.Evaluate(network, evaluation), LipSyncEvaluator.EvaluateLoudnessBaseline(evaluation) };
                foreach (var score in scores)
                {
                    Console.WriteLine(score);
                    Console.WriteLine($"  closure {score.ClosureRatio:0.00} rounding {score.RoundingRatio:0.00} failures: {string.Join("; ", score.Failures())}");
                }
                return scores[0].Failures().Count == 0 ? 0 : 1;
            default:
                Console.Error.WriteLine("usage: Avatar.A2F.Inference model train [--clips=N] [--epochs=N]");
                return 2;
        }
    }
}
