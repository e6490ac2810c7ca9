namespace Avatar.A2F.Inference.LipSync;

/// <summary>
/// Log-mel features of 16 kHz audio, streamed: a 25 ms Hann window (400 samples) every 10 ms (160 samples), a 512-point
/// FFT, <see cref="Bands"/> triangular mel bands from 50 to 8000 Hz, natural log of the band energy. Frame f is centred
/// on sample f * 160 (the clip is treated as preceded by silence), so frame f is ready once sample f * 160 + 200 arrived.
/// </summary>
public sealed class LogMelSpectrogram
{
    /// <summary>Samples per second the features are defined for.</summary>
    public const int SampleRate = 16000;
    /// <summary>Window length in samples.</summary>
    public const int WindowLength = 400;
    /// <summary>Hop between frames in samples (100 frames per second).</summary>
    public const int Hop = 160;
    /// <summary>Mel bands per frame.</summary>
    public const int Bands = 32;

    private const int FftSize = 512;
    private const float Floor = 1e-7f;

    private static readonly float[] s_window = BuildWindow();
    private static readonly (int Start, float[] Weights)[] s_filters = BuildFilters(1);
    private readonly (int Start, float[] Weights)[] _filters = s_filters;

    private readonly List<float> _pending = [];
    private long _pendingStart = -WindowLength / 2; // sample index of _pending[0]; starts with half a window of silence
    private readonly float[] _re = new float[FftSize];
    private readonly float[] _im = new float[FftSize];

    /// <summary>Frames produced so far.</summary>
    public int FrameCount { get; private set; }

    /// <summary>Creates an extractor with half a window of leading silence already queued.</summary>
    /// <param name="warp">
    /// Training only: the bands' frequencies scaled by this factor (vocal tract length perturbation: a longer or shorter
    /// tract moves every formant by one factor), bent back to 8 kHz above 4.8 kHz so the top band stays inside the audio.
    /// </param>
    public LogMelSpectrogram(float warp = 1)
    {
        if (warp != 1)
        {
            _filters = BuildFilters(warp);
        }
        for (var i = 0; i < WindowLength / 2; i++)
        {
            _pending.Add(0);
        }
    }

    /// <summary>Appends samples; writes each completed frame (<see cref="Bands"/> values) to <paramref name="frames"/>.</summary>
    public void Process(ReadOnlySpan<float> samples, List<float[]> frames)
    {
        foreach (var sample in samples)
        {
            _pending.Add(sample);
        }
        Drain(frames);
    }

    /// <summary>Completes the frames whose windows reach past the end, padding with silence.</summary>
    public void Flush(List<float[]> frames)
    {
        var lastSample = _pendingStart + _pending.Count - 1;
        var wanted = (int)(lastSample / Hop) + 1; // every frame whose centre lies within the audio
        while (FrameCount < wanted)
        {
            _pending.Add(0);
            Drain(frames);
        }
    }

    private void Drain(List<float[]> frames)
    {
        var offset = 0;
        while (offset + WindowLength <= _pending.Count)
        {
            frames.Add(Compute(offset));
            FrameCount++;
            offset += Hop;
        }
        if (offset > 0)
        {
            _pending.RemoveRange(0, offset);
            _pendingStart += offset;
        }
    }

    private float[] Compute(int offset)
    {
        for (var i = 0; i < FftSize; i++)
        {
            _re[i] = i < WindowLength ? _pending[offset + i] * s_window[i] : 0;
            _im[i] = 0;
        }
        Fft(_re, _im);
        var frame = new float[Bands];
        for (var b = 0; b < Bands; b++)
        {
            var (start, weights) = _filters[b];
            var energy = 0f;
            for (var i = 0; i < weights.Length; i++)
            {
                var k = start + i;
                energy += weights[i] * ((_re[k] * _re[k]) + (_im[k] * _im[k]));
            }
            frame[b] = MathF.Log(energy + Floor);
        }
        return frame;
    }

    /// <summary>Features of a whole 16 kHz clip: frame f is centred on f * 10 ms.</summary>
    public static List<float[]> Compute(ReadOnlySpan<float> samples, float warp = 1)
    {
        var extractor = new LogMelSpectrogram(warp);
        var frames = new List<float[]>(samples.Length / Hop + 2);
        extractor.Process(samples, frames);
        extractor.Flush(frames);
        return frames;
    }

    /// <summary>In-place iterative radix-2 complex FFT.</summary>
    private static void Fft(float[] re, float[] im)
    {
        var n = re.Length;
        for (int i = 1, j = 0; i < n; i++)
        {
            var bit = n >> 1;
            for (; (j & bit) != 0; bit >>= 1)
            {
                j ^= bit;
            }
            j ^= bit;
            if (i < j)
            {
                (re[i], re[j]) = (re[j], re[i]);
                (im[i], im[j]) = (im[j], im[i]);
            }
        }
        for (var length = 2; length <= n; length <<= 1)
        {
            var angle = -2 * Math.PI / length;
            var wRe = (float)Math.Cos(angle);
            var wIm = (float)Math.Sin(angle);
            for (var i = 0; i < n; i += length)
            {
                float uRe = 1, uIm = 0;
                for (var k = 0; k < length / 2; k++)
                {
                    var a = i + k;
                    var b = a + (length / 2);
                    var tRe = (re[b] * uRe) - (im[b] * uIm);
                    var tIm = (re[b] * uIm) + (im[b] * uRe);
                    re[b] = re[a] - tRe;
                    im[b] = im[a] - tIm;
                    re[a] += tRe;
                    im[a] += tIm;
                    var nextRe = (uRe * wRe) - (uIm * wIm);
                    uIm = (uRe * wIm) + (uIm * wRe);
                    uRe = nextRe;
                }
            }
        }
    }

    private static float[] BuildWindow()
    {
        var window = new float[WindowLength];
        for (var i = 0; i < WindowLength; i++)
        {
            window[i] = (float)(0.5 - (0.5 * Math.Cos(2 * Math.PI * i / WindowLength)));
        }
        return window;
    }

    private static (int, float[])[] BuildFilters(float warp)
    {
        // The band edges of a warped filterbank: where a tract 1/warp as long puts the frequencies of the unwarped edges.
        const double bend = 4800, nyquist = 8000;
        double Warp(double hz) => hz <= bend ? hz * warp : (bend * warp) + ((hz - bend) * (nyquist - (bend * warp)) / (nyquist - bend));
        static double Mel(double hz) => 2595 * Math.Log10(1 + (hz / 700));
        static double Hz(double mel) => 700 * (Math.Pow(10, mel / 2595) - 1);
        var low = Mel(50);
        var high = Mel(8000);
        var edges = Enumerable.Range(0, Bands + 2).Select(i => Warp(Hz(low + ((high - low) * i / (Bands + 1))))).ToArray();
        var binHz = (double)SampleRate / FftSize;
        var filters = new (int, float[])[Bands];
        for (var b = 0; b < Bands; b++)
        {
            var (left, centre, right) = (edges[b], edges[b + 1], edges[b + 2]);
            var start = (int)Math.Ceiling(left / binHz);
            var end = Math.Min((int)Math.Floor(right / binHz), FftSize / 2);
            var weights = new float[Math.Max(1, end - start + 1)];
            for (var k = start; k <= end; k++)
            {
                var hz = k * binHz;
                weights[k - start] = (float)(hz <= centre ? (hz - left) / (centre - left) : (right - hz) / (right - centre));
            }
            filters[b] = (start, weights);
        }
        return filters;
    }
}
