using System.Numerics.Tensors;

namespace Avatar.A2F.Inference.LipSync;

/// <summary>
/// Checks the teachers' labels against the sound and against each other, independently of any model: where each
/// engine's p and b labels sit against the silence of the closure, and how well two engines' reference openness agrees
/// on the same words. A held-out engine is scored against its own labels, so the second bounds what any model trained on
/// the other engines can score on it (<c>model labels</c>; MODEL-CARD.md, "The teachers' labels").
/// </summary>
public static class TeacherLabels
{
    /// <summary>Label shifts tried, in ms (positive: later).</summary>
    public static IReadOnlyList<int> Shifts { get; } = [.. Enumerable.Range(-6, 13).Select(k => k * 10)];

    /// <summary>
    /// The mean level (dB under each clip's loudest 10 ms) of the middle half of every p and b segment with the labels
    /// shifted by each of <see cref="Shifts"/>: the quietest shift is where the closure's silence sits against the labels.
    /// </summary>
    public static (int Count, double[] Levels) ClosureLevels(IReadOnlyList<LabelledClip> clips)
    {
        var sums = new double[Shifts.Count];
        var count = 0;
        foreach (var clip in clips)
        {
            var level = SpeechEngines.Levels(clip.Samples, 160);
            if (level.Length == 0)
            {
                continue; // under 10 ms: no block to measure (the shared Levels, unlike this file's old copy, gives none)
            }
            var loudest = level.Max();
            for (var i = 0; i + 1 < clip.Phonemes.Count; i++)
            {
                var (start, end) = (clip.Phonemes[i].Start.TotalSeconds, clip.Phonemes[i + 1].Start.TotalSeconds);
                if (clip.Phonemes[i].Name.TrimEnd('\'') is not ("p" or "b") || end - start < 0.03)
                {
                    continue;
                }
                count++;
                for (var k = 0; k < Shifts.Count; k++)
                {
                    var from = Math.Clamp((int)((start + (Shifts[k] / 1000.0) + ((end - start) / 4)) * 100), 0, level.Length - 1);
                    var to = Math.Clamp((int)((start + (Shifts[k] / 1000.0) + (3 * (end - start) / 4)) * 100), from + 1, level.Length);
                    sums[k] += level.AsSpan(from, to - from).ToArray().Average() - loudest;
                }
            }
        }
        return (count, [.. sums.Select(s => s / Math.Max(1, count))]);
    }

    /// <summary>
    /// Aligns each clip of <paramref name="b"/> with the clip of the same sentence in <paramref name="a"/> (dynamic time
    /// warping of their log-mel frames, each band less its mean over the clip, cosine distance), carries A's reference
    /// openness onto B's 10 ms frames and correlates it with B's own: at lag 0, and at the best lag within ±40 ms.
    /// </summary>
    public static (double Correlation, double BestCorrelation, int BestLagMilliseconds) Agreement(IReadOnlyList<LabelledClip> a, IReadOnlyList<LabelledClip> b) =>
        Consensus([a], b);

    /// <summary>
    /// <see cref="Agreement"/> for several teachers at once: each teacher's reference openness is carried onto B's frames
    /// and the teachers' mean is correlated with B's own. With the engines a model was taught by as the teachers, it
    /// estimates what a model that reproduced them perfectly would score on B.
    /// </summary>
    public static (double Correlation, double BestCorrelation, int BestLagMilliseconds) Consensus(IReadOnlyList<IReadOnlyList<LabelledClip>> teachers,
        IReadOnlyList<LabelledClip> b)
    {
        var (carried, own) = (new List<double>(), new List<double>());
        for (var c = 0; c < b.Count; c++)
        {
            var framesB = Centred(LogMelSpectrogram.Compute(b[c].Samples));
            var mean = new double[framesB.Count];
            foreach (var teacher in teachers)
            {
                var clipA = teacher[c];
                var sum = new double[framesB.Count];
                var hits = new int[framesB.Count];
                foreach (var (i, j) in Warp(Centred(LogMelSpectrogram.Compute(clipA.Samples)), framesB))
                {
                    sum[j] += i;
                    hits[j]++;
                }
                for (var j = 0; j < framesB.Count; j++)
                {
                    mean[j] += clipA.ClassAt(((sum[j] / Math.Max(1, hits[j])) + 0.5) * 0.01).Openness / teachers.Count;
                }
            }
            carried.AddRange(mean);
            own.AddRange(Enumerable.Range(0, framesB.Count).Select(j => (double)b[c].ClassAt((j + 0.5) * 0.01).Openness));
        }
        var reference = own.ToArray();
        var best = Enumerable.Range(-4, 9).Select(k => (Lag: k * 10, R: LipSyncEvaluator.LaggedCorrelation(carried, reference, k))).MaxBy(l => l.R);
        return (LipSyncEvaluator.LaggedCorrelation(carried, reference, 0), best.R, best.Lag);
    }

    private static List<float[]> Centred(List<float[]> frames)
    {
        var mean = new float[LogMelSpectrogram.Bands];
        foreach (var frame in frames)
        {
            TensorPrimitives.Add(mean, frame, mean);
        }
        TensorPrimitives.Divide(mean, frames.Count, mean);
        return [.. frames.Select(f =>
        {
            var centred = new float[f.Length];
            TensorPrimitives.Subtract(f, mean, centred);
            return centred;
        })];
    }

    /// <summary>The cheapest monotonic path from the first frames to the last (steps: both, A only, B only).</summary>
    private static List<(int A, int B)> Warp(List<float[]> a, List<float[]> b)
    {
        var cost = new double[a.Count + 1, b.Count + 1];
        for (var i = 0; i <= a.Count; i++)
        {
            for (var j = 0; j <= b.Count; j++)
            {
                cost[i, j] = i == 0 && j == 0 ? 0 : double.PositiveInfinity;
            }
        }
        for (var i = 1; i <= a.Count; i++)
        {
            for (var j = 1; j <= b.Count; j++)
            {
                var distance = 1 - TensorPrimitives.CosineSimilarity(a[i - 1], b[j - 1]);
                cost[i, j] = distance + Math.Min(cost[i - 1, j - 1], Math.Min(cost[i - 1, j], cost[i, j - 1]));
            }
        }
        var path = new List<(int, int)>();
        for (int i = a.Count, j = b.Count; i > 0 && j > 0;)
        {
            path.Add((i - 1, j - 1));
            var (both, up, left) = (cost[i - 1, j - 1], cost[i - 1, j], cost[i, j - 1]);
            if (both <= up && both <= left)
            {
                (i, j) = (i - 1, j - 1);
            }
            else if (up <= left)
            {
                i--;
            }
            else
            {
                j--;
            }
        }
        return path;
    }
}
