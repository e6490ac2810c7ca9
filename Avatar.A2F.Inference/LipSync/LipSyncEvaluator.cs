namespace Avatar.A2F.Inference.LipSync;

/// <summary>LIPSYNC.md's metric for one system over the evaluation set.</summary>
/// <param name="System">What was measured.</param>
/// <param name="Frames">30 FPS frames scored.</param>
/// <param name="JawCorrelation">Pearson correlation of JawOpen with the reference openness at lag 0.</param>
/// <param name="BestLagCorrelation">The correlation at the best lag within +-100 ms.</param>
/// <param name="LagMilliseconds">That lag: positive when the face trails the voice.</param>
/// <param name="BilabialJaw">Mean JawOpen on p, b, m.</param>
/// <param name="OpenVowelJaw">Mean JawOpen on open vowels.</param>
/// <param name="RoundedLips">Mean MouthFunnel + MouthPucker on rounded vowels.</param>
/// <param name="SpreadLips">The same on spread vowels.</param>
/// <param name="SilenceJaw">Mean JawOpen in pauses.</param>
/// <param name="Jitter">Mean absolute JawOpen change from one frame to the next.</param>
public sealed record LipSyncScore(string System, int Frames, double JawCorrelation, double BestLagCorrelation, int LagMilliseconds,
    double BilabialJaw, double OpenVowelJaw, double RoundedLips, double SpreadLips, double SilenceJaw, double Jitter)
{
    /// <summary>Lips on p/b/m relative to open vowels: below 0.5 means the lips visibly close.</summary>
    public double ClosureRatio => BilabialJaw / Math.Max(OpenVowelJaw, 1e-6);

    /// <summary>Rounding on rounded vowels relative to spread ones: above 1 means rounding shows.</summary>
    public double RoundingRatio => RoundedLips / Math.Max(SpreadLips, 1e-6);

    /// <summary>Rounding lips on rounded vowels minus on spread ones (MouthFunnel + MouthPucker).</summary>
    public double RoundingDifference => RoundedLips - SpreadLips;

    /// <summary>
    /// The bars on speech from an engine or voice the model never heard: correlation 0.80 at lag 0, p/b/m at most 0.20 of
    /// open vowels, rounding 0.40 above spread vowels, silence at most 0.05, the best lag within one frame.
    /// </summary>
    public IReadOnlyList<string> HeldOutFailures()
    {
        List<string> failures = [];
        if (JawCorrelation < 0.8) { failures.Add($"r at lag 0 {JawCorrelation:0.00} < 0.80"); }
        if (ClosureRatio > 0.2) { failures.Add($"p/b/m ÷ open {ClosureRatio:0.00} > 0.20"); }
        if (RoundingDifference < 0.4) { failures.Add($"rounded − spread {RoundingDifference:0.00} < 0.40"); }
        if (SilenceJaw > 0.05) { failures.Add($"silence {SilenceJaw:0.000} > 0.05"); }
        if (Math.Abs(LagMilliseconds) > 34) { failures.Add($"best lag {LagMilliseconds} ms"); }
        return failures;
    }

    /// <summary>The baseline's bars: correlation 0.6, closure below half, rounding visible, silence at rest.</summary>
    public IReadOnlyList<string> Failures()
    {
        List<string> failures = [];
        if (JawCorrelation < 0.6) { failures.Add($"JawOpen correlation {JawCorrelation:0.00} < 0.60"); }
        if (ClosureRatio >= 0.5) { failures.Add($"p/b/m JawOpen is {ClosureRatio:0.00} of open vowels (needs < 0.5)"); }
        if (RoundingRatio <= 1.5) { failures.Add($"rounding ratio {RoundingRatio:0.00} (needs > 1.5)"); }
        if (SilenceJaw >= 0.05) { failures.Add($"JawOpen in silence {SilenceJaw:0.000} (needs < 0.05)"); }
        return failures;
    }
}

/// <summary>Scores lip-sync output against the speaking engine's phone timings, as LIPSYNC.md defines.</summary>
public static class LipSyncEvaluator
{
    private static readonly int s_funnel = BlendShapes.IndexOf("MouthFunnel");
    private static readonly int s_pucker = BlendShapes.IndexOf("MouthPucker");

    /// <summary>Runs the model over every clip, streamed in 35 ms chunks as clients send them, and scores the output.</summary>
    public static LipSyncScore Evaluate(IVisemeModel model, IReadOnlyList<LabelledClip> clips, string system = "lip-sync model",
        VisemeCalibration? calibration = null)
    {
        var animated = Animate(model, clips, calibration);
        return Score(system, clips, clip => [.. animated[clip].Select(w => ((double)w[BlendShapes.JawOpen], (double)(w[s_funnel] + w[s_pucker])))]);
    }

    /// <summary>
    /// The 30 FPS blend shape frames the service would send for each clip (streamed in 35 ms chunks, post-processed at
    /// its defaults), each beside the phone active at its time.
    /// </summary>
    public static IReadOnlyList<(PhonemeClass Reference, float[] Weights)> Frames(IVisemeModel model, IReadOnlyList<LabelledClip> clips)
    {
        var animated = Animate(model, clips);
        return [.. clips.SelectMany(c => animated[c].Select((w, k) => (c.ClassAt((double)k / LipSyncStream.FramesPerSecond), w)))];
    }

    private static Dictionary<LabelledClip, List<float[]>> Animate(IVisemeModel model, IReadOnlyList<LabelledClip> clips,
        VisemeCalibration? calibration = null)
    {
        var batching = new BatchingVisemeModel(model);
        try
        {
            return clips.Distinct().ToDictionary(c => c, c => RunAsync(batching, c, calibration).AsTask().GetAwaiter().GetResult());
        }
        finally
        {
            batching.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static async ValueTask<List<float[]>> RunAsync(BatchingVisemeModel model, LabelledClip clip, VisemeCalibration? calibration)
    {
        var stream = new LipSyncStream(model, LogMelSpectrogram.SampleRate, calibration);
        var frames = new List<BlendFrame>();
        for (var offset = 0; offset < clip.Samples.Length; offset += 560)
        {
            await stream.PushAsync(clip.Samples.AsMemory(offset, Math.Min(560, clip.Samples.Length - offset)), frames);
        }
        await stream.CompleteAsync(frames);
        // The service's own post-processing at its defaults (smoothing included), so the score is what clients see.
        var post = new Animation.AnimationPostProcessor(new Animation.AnimationSettings());
        frames.ForEach(post.Apply);
        return [.. frames.Select(f => f.Weights)];
    }

    /// <summary>
    /// The loudness-only peer LIPSYNC.md warns about: RMS over a 25 ms window mapped to JawOpen, no lip shapes at all.
    /// </summary>
    public static LipSyncScore EvaluateLoudnessBaseline(IReadOnlyList<LabelledClip> clips) =>
        Score("loudness baseline (RMS to JawOpen)", clips, clip =>
        {
            var count = (int)Math.Ceiling(clip.Samples.Length / 16000.0 * LipSyncStream.FramesPerSecond);
            var output = new List<(double, double)>(count);
            for (var k = 0; k < count; k++)
            {
                var center = (int)(k * 16000L / LipSyncStream.FramesPerSecond);
                double energy = 0;
                var n = 0;
                for (var i = Math.Max(0, center - 200); i < Math.Min(clip.Samples.Length, center + 200); i++, n++)
                {
                    energy += clip.Samples[i] * clip.Samples[i];
                }
                var db = 10 * Math.Log10((energy / Math.Max(n, 1)) + 1e-10);
                output.Add((Math.Clamp((db + 50) / 40, 0, 1) * 0.7, 0));
            }
            return output;
        });

    private static LipSyncScore Score(string system, IReadOnlyList<LabelledClip> clips, Func<LabelledClip, List<(double Jaw, double Lips)>> run)
    {
        var jaw = new List<double>();
        var lips = new List<double>();
        var reference = new List<PhonemeClass>();
        var clipStarts = new List<int>();
        foreach (var clip in clips)
        {
            var frames = run(clip);
            clipStarts.Add(jaw.Count);
            for (var k = 0; k < frames.Count; k++)
            {
                jaw.Add(frames[k].Jaw);
                lips.Add(frames[k].Lips);
                reference.Add(clip.ClassAt((double)k / LipSyncStream.FramesPerSecond));
            }
        }
        return Score(system, jaw, lips, reference, clipStarts);
    }

    /// <summary>
    /// Scores 30 FPS frames beside their reference phones (as <see cref="Frames"/> gives them), taken as one sequence:
    /// for systems that the service's own path cannot run, such as a screening experiment's.
    /// </summary>
    public static LipSyncScore Score(string system, IReadOnlyList<(PhonemeClass Reference, float[] Weights)> frames) =>
        Score(system, [.. frames.Select(f => (double)f.Weights[BlendShapes.JawOpen])], [.. frames.Select(f => (double)(f.Weights[s_funnel] + f.Weights[s_pucker]))],
            [.. frames.Select(f => f.Reference)], [0]);

    private static LipSyncScore Score(string system, List<double> jaw, List<double> lips, List<PhonemeClass> reference, List<int> clipStarts)
    {
        var openness = reference.Select(r => (double)r.Openness).ToArray();
        var (bestLag, bestCorrelation) = (0, double.MinValue);
        for (var lag = -3; lag <= 3; lag++)
        {
            var correlation = LaggedCorrelation(jaw, openness, lag);
            if (correlation > bestCorrelation)
            {
                (bestLag, bestCorrelation) = (lag, correlation);
            }
        }
        double Mean(Func<PhonemeClass, bool> where, List<double> values)
        {
            var selected = reference.Select((r, i) => (r, i)).Where(p => where(p.r)).Select(p => values[p.i]).ToList();
            return selected.Count == 0 ? double.NaN : selected.Average();
        }
        var jitter = Enumerable.Range(1, jaw.Count - 1).Where(i => !clipStarts.Contains(i)).Average(i => Math.Abs(jaw[i] - jaw[i - 1]));
        return new LipSyncScore(system, jaw.Count, LaggedCorrelation(jaw, openness, 0), bestCorrelation,
            (int)Math.Round(bestLag * 1000.0 / LipSyncStream.FramesPerSecond),
            Mean(r => r.IsBilabial, jaw), Mean(r => r.IsOpenVowel, jaw),
            Mean(r => r.Rounding == Rounding.Rounded, lips), Mean(r => r.Rounding == Rounding.Spread, lips),
            Mean(r => r.IsSilence, jaw), jitter);
    }

    /// <summary>Pearson correlation of output[k + lag] with reference[k].</summary>
    internal static double LaggedCorrelation(List<double> output, double[] reference, int lag)
    {
        double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
        var n = 0;
        for (var k = Math.Max(0, -lag); k < reference.Length && k + lag < output.Count; k++)
        {
            var (x, y) = (output[k + lag], reference[k]);
            sx += x; sy += y; sxx += x * x; syy += y * y; sxy += x * y; n++;
        }
        var cov = sxy - (sx * sy / n);
        var vx = sxx - (sx * sx / n);
        var vy = syy - (sy * sy / n);
        return vx <= 0 || vy <= 0 ? 0 : cov / Math.Sqrt(vx * vy);
    }
}
