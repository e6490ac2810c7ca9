namespace Avatar.A2F.Inference.LipSync;

/// <summary>One frame of animation: the blend shape weights at <paramref name="TimeCode"/> seconds from clip start.</summary>
/// <param name="TimeCode">Seconds from the start of the clip: frame k is at k / 30.</param>
/// <param name="Weights">68 weights in <see cref="BlendShapes.Names"/> order.</param>
public sealed record BlendFrame(double TimeCode, float[] Weights);

/// <summary>
/// Audio in, 30 FPS blend shape frames out, for one stream: resampling to 16 kHz, log-mel features, the network's viseme
/// probabilities per 10 ms, sampled at t = k / 30, blended through the viseme table. Frames come out as soon
/// as the audio they need (about 60 ms past their time code) has arrived.
/// </summary>
public sealed class LipSyncStream
{
    /// <summary>Output frames per second.</summary>
    public const int FramesPerSecond = 30;

    private readonly LipSyncNetwork _network;
    private readonly AudioResampler _resampler;
    private readonly LogMelSpectrogram _features = new();
    private readonly List<float> _resampled = [];
    private readonly List<float[]> _frames = [];
    private readonly List<float[]> _probabilities = [];
    private readonly float[] _row = new float[LipSyncNetwork.InputSize];
    private readonly float[] _smoothed = new float[BlendShapes.Count];
    private readonly float _smoothing;
    private long _samples16k;
    private int _nextFrame;

    /// <summary>Creates a stream for audio at <paramref name="sampleRate"/>.</summary>
    /// <param name="network">The model.</param>
    /// <param name="sampleRate">Input rate, 16 to 144 kHz.</param>
    /// <param name="smoothingSeconds">Time constant of an output low-pass; 0 (the default) leaves smoothing to the
    /// <see cref="Animation.AnimationPostProcessor"/>, which takes it from the client's face parameters.</param>
    public LipSyncStream(LipSyncNetwork network, int sampleRate, double smoothingSeconds = 0)
    {
        _network = network;
        _resampler = new AudioResampler(sampleRate, LogMelSpectrogram.SampleRate);
        _smoothing = smoothingSeconds <= 0 ? 1 : (float)(1 - Math.Exp(-1.0 / FramesPerSecond / smoothingSeconds));
    }

    /// <summary>Feeds audio (any length, samples in [-1, 1]); appends every frame that became ready.</summary>
    public void Push(ReadOnlySpan<float> audio, List<BlendFrame> output)
    {
        _resampled.Clear();
        _resampler.Process(audio, _resampled);
        Feed(output, final: false);
    }

    /// <summary>Ends the stream: the frames up to the end of the audio are completed and appended.</summary>
    public void Complete(List<BlendFrame> output)
    {
        _resampled.Clear();
        _resampler.Flush(_resampled);
        Feed(output, final: true);
    }

    private void Feed(List<BlendFrame> output, bool final)
    {
        _samples16k += _resampled.Count;
        _features.Process(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_resampled), _frames);
        if (final)
        {
            _features.Flush(_frames);
        }
        // Viseme probabilities for every feature frame whose window (Future frames ahead) is complete.
        var ready = final ? _frames.Count : _frames.Count - LipSyncNetwork.Future;
        while (_probabilities.Count < ready)
        {
            var probabilities = new float[VisemeTable.Count];
            _network.BuildInput(_frames, _probabilities.Count, _row);
            _network.Predict(_row, probabilities);
            _probabilities.Add(probabilities);
        }
        var lastFrame = final
            ? (int)Math.Ceiling((double)_samples16k / LogMelSpectrogram.SampleRate * FramesPerSecond) - 1
            : int.MaxValue;
        Span<float> mixed = stackalloc float[VisemeTable.Count];
        while (_nextFrame <= lastFrame)
        {
            // Frame k sits at k/30 s = k*100/30 feature frames: interpolate between the two neighbours.
            var position = _nextFrame * 100.0 / FramesPerSecond;
            var below = (int)position;
            var above = Math.Min(below + 1, _probabilities.Count - 1);
            if (_probabilities.Count == 0 || (!final && below + 1 >= _probabilities.Count))
            {
                break;
            }
            below = Math.Min(below, _probabilities.Count - 1);
            var t = (float)(position - (int)position);
            for (var v = 0; v < mixed.Length; v++)
            {
                mixed[v] = (_probabilities[below][v] * (1 - t)) + (_probabilities[above][v] * t);
            }
            var weights = new float[BlendShapes.Count];
            VisemeTable.Blend(mixed, weights);
            for (var s = 0; s < weights.Length; s++)
            {
                _smoothed[s] += _smoothing * (weights[s] - _smoothed[s]);
                weights[s] = _smoothed[s];
            }
            output.Add(new BlendFrame((double)_nextFrame / FramesPerSecond, weights));
            _nextFrame++;
        }
    }
}
