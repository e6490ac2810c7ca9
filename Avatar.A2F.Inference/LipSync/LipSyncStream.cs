using Avatar.A2F.Contracts;
namespace Avatar.A2F.Inference.LipSync;

/// <summary>One frame of animation: the blend shape weights at <paramref name="TimeCode"/> seconds from clip start.</summary>
/// <param name="TimeCode">Seconds from the start of the clip: frame k is at k / 30.</param>
/// <param name="Weights">68 weights in <see cref="BlendShapes.Names"/> order.</param>
public sealed record BlendFrame(double TimeCode, float[] Weights);

/// <summary>
/// How the model's viseme probabilities are turned into one blend before the viseme table. Chosen on the trained engines'
/// evaluation sentences, never on the reserved voice or a held-out engine (MODEL-CARD.md has the runs).
/// </summary>
/// <param name="Sharpness">
/// The exponent the probabilities are raised to (then renormalised): above 1, the likeliest viseme weighs more than its
/// probability, so lips close and round decisively instead of averaging toward a half-open mouth.
/// </param>
/// <param name="ClosureGain">
/// The factor on p/b/m's probability before sharpening. A closure lasts a few 10 ms frames among many open ones, so the
/// model, trained on frame counts, rarely puts it first; the gain corrects for that prior, as hybrid speech recognisers
/// divide posteriors by class priors.
/// </param>
/// <param name="RoundingGain">The same for the rounded vowels (ow oy uh, uw w).</param>
/// <param name="SilenceGain">The same for silence: breathy voices and noise in pauses otherwise leave the jaw ajar.</param>
public sealed record VisemeCalibration(float Sharpness, float ClosureGain, float RoundingGain, float SilenceGain)
{
    /// <summary>What the service runs.</summary>
    public static VisemeCalibration Default { get; } = new(2f, 4f, 2f, 3f);

    /// <summary>Applies the gains and the sharpening to <paramref name="probabilities"/>, renormalised to sum 1.</summary>
    public void Apply(Span<float> probabilities)
    {
        probabilities[(int)Viseme.Sil] *= SilenceGain;
        probabilities[(int)Viseme.PP] *= ClosureGain;
        probabilities[(int)Viseme.OH] *= RoundingGain;
        probabilities[(int)Viseme.OU] *= RoundingGain;
        var sum = 0f;
        for (var v = 0; v < probabilities.Length; v++)
        {
            probabilities[v] = Sharpness == 1 ? probabilities[v] : MathF.Pow(probabilities[v], Sharpness);
            sum += probabilities[v];
        }
        if (sum > 0)
        {
            System.Numerics.Tensors.TensorPrimitives.Divide(probabilities, sum, probabilities);
        }
    }
}

/// <summary>
/// Audio in, 30 FPS blend shape frames out, for one stream: resampling to 16 kHz, log-mel features, the model's viseme
/// probabilities per 10 ms (batched with every other stream), sampled at t = k / 30 and blended through the viseme table.
/// Frames come out as soon as the audio they need (about 60 ms past their time code) has arrived.
/// </summary>
public sealed class LipSyncStream(BatchingVisemeModel model, int sampleRate, VisemeCalibration? calibration = null)
{
    /// <summary>Output frames per second.</summary>
    public const int FramesPerSecond = 30;

    /// <summary>
    /// Each frame averages the viseme probabilities of the feature frames up to this many either side (a triangle): the
    /// 30 FPS frame stands for 33 ms of speech, not one 10 ms instant, and averaging before the calibration's sharpening
    /// keeps a short closure that smoothing the blended weights after would blur. It costs one feature frame (10 ms) of
    /// waiting for two frames in three, none for the first. MODEL-CARD.md has the runs it was chosen on.
    /// </summary>
    public const int Spread = 1;

    private readonly VisemeCalibration _calibration = calibration ?? VisemeCalibration.Default;

    private readonly AudioResampler _resampler = new(sampleRate, LogMelSpectrogram.SampleRate);
    private readonly LogMelSpectrogram _features = new();
    private readonly List<float> _resampled = [];
    private readonly List<float[]> _frames = [];
    private readonly List<float[]> _probabilities = [];
    private float[] _rows = [];
    private float[] _results = [];
    private long _samples16k;
    private int _nextFrame;

    /// <summary>Input sample rate.</summary>
    public int SampleRate { get; } = sampleRate;

    /// <summary>Feeds audio (any length, samples in [-1, 1]); appends every frame that became ready.</summary>
    public ValueTask PushAsync(ReadOnlyMemory<float> audio, List<BlendFrame> output, CancellationToken cancellationToken = default)
    {
        _resampled.Clear();
        _resampler.Process(audio.Span, _resampled);
        return FeedAsync(output, final: false, cancellationToken);
    }

    /// <summary>Ends the stream: the frames up to the end of the audio are completed and appended.</summary>
    public ValueTask CompleteAsync(List<BlendFrame> output, CancellationToken cancellationToken = default)
    {
        _resampled.Clear();
        _resampler.Flush(_resampled);
        return FeedAsync(output, final: true, cancellationToken);
    }

    private async ValueTask FeedAsync(List<BlendFrame> output, bool final, CancellationToken cancellationToken)
    {
        _samples16k += _resampled.Count;
        _features.Process(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_resampled), _frames);
        if (final)
        {
            _features.Flush(_frames);
        }
        await PredictReadyFramesAsync(final, cancellationToken).ConfigureAwait(false);
        Emit(output, final);
    }

    /// <summary>Viseme probabilities for every feature frame whose window (Future frames ahead) is complete.</summary>
    private async ValueTask PredictReadyFramesAsync(bool final, CancellationToken cancellationToken)
    {
        var ready = final ? _frames.Count : _frames.Count - LipSyncNetwork.Future;
        var count = ready - _probabilities.Count;
        if (count <= 0)
        {
            return;
        }
        if (_rows.Length < count * LipSyncNetwork.InputSize)
        {
            _rows = new float[count * LipSyncNetwork.InputSize * 2];
            _results = new float[count * LipSyncNetwork.Outputs * 2];
        }
        for (var i = 0; i < count; i++)
        {
            LipSyncNetwork.BuildInput(_frames, _probabilities.Count + i, _rows.AsSpan(i * LipSyncNetwork.InputSize, LipSyncNetwork.InputSize));
        }
        await model.PredictAsync(_rows, count, _results, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < count; i++)
        {
            _probabilities.Add(_results.AsSpan(i * LipSyncNetwork.Outputs, LipSyncNetwork.Outputs).ToArray());
        }
    }

    private void Emit(List<BlendFrame> output, bool final)
    {
        var lastFrame = final
            ? (int)Math.Ceiling((double)_samples16k / LogMelSpectrogram.SampleRate * FramesPerSecond) - 1
            : int.MaxValue;
        Span<float> mixed = stackalloc float[VisemeTable.Count];
        while (_nextFrame <= lastFrame && _probabilities.Count > 0)
        {
            // Frame k sits at k/30 s = k*100/30 feature frames: interpolate between the two neighbours, at the frame's time
            // and Spread feature frames either side.
            var position = _nextFrame * 100.0 / FramesPerSecond;
            // The last feature frame it needs: every third frame sits on a feature frame and needs none beyond it (a
            // stream's first frame among them, so the averaging does not delay the first face).
            if (!final && (int)Math.Ceiling(position + Spread - 1e-9) >= _probabilities.Count)
            {
                break;
            }
            mixed.Clear();
            for (var d = -Spread; d <= Spread; d++)
            {
                var at = Math.Max(position + d, 0);
                var below = Math.Min((int)at, _probabilities.Count - 1);
                var above = Math.Min(below + 1, _probabilities.Count - 1);
                var t = (float)(at - Math.Floor(at));
                var weight = (Spread + 1f - Math.Abs(d)) / ((Spread + 1f) * (Spread + 1f));
                for (var v = 0; v < mixed.Length; v++)
                {
                    mixed[v] += weight * ((_probabilities[below][v] * (1 - t)) + (_probabilities[above][v] * t));
                }
            }
            _calibration.Apply(mixed);
            var weights = new float[BlendShapes.Count];
            VisemeTable.Blend(mixed, weights);
            output.Add(new BlendFrame((double)_nextFrame / FramesPerSecond, weights));
            _nextFrame++;
        }
    }
}
