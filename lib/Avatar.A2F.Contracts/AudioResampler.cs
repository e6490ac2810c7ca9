namespace Avatar.A2F.Contracts;

/// <summary>
/// Streaming band-limited resampler (windowed sinc) from any input rate to A2F models' 16 kHz (or any other rate). Chunks may have any
/// length; the output is the same as resampling the whole clip at once. The kernel is tabulated once
/// and linearly interpolated, so each output sample costs one multiply-add per input tap and no trigonometry. For the
/// usual rates (22.05, 24, 44.1, 48 kHz) an output sample falls at one of a few hundred positions between input samples
/// (the phases), and the taps of each phase are computed once and shared by every stream at that rate.
/// </summary>
public sealed class AudioResampler
{
    private const int ZeroCrossings = 12;   // kernel half-width, in zero crossings of the low-pass sinc
    private const int TableResolution = 256; // kernel samples per zero crossing
    // Phase tables above this many taps (odd rates such as 44,101 Hz have thousands of phases) are not worth their
    // memory: those rates evaluate the kernel per tap instead.
    private const int MaxPhaseTaps = 1 << 16;
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(int, int), float[]?> s_phaseTables = new();
    // The kernel depends on nothing but the two constants above: one table for every stream.
    private static readonly float[] s_kernel = BuildKernel(ZeroCrossings, TableResolution);

    private readonly int _inRate;
    private readonly int _outRate;
    private readonly double _cutoff;       // low-pass cutoff relative to the input Nyquist (1 = no filtering)
    private readonly int _halfWidth;       // kernel half-width in input samples
    private readonly float[]? _phaseTaps;   // [phase, 2 * _halfWidth] taps, phase = (output index * in rate % out rate) / gcd
    private readonly int _phaseStep;        // gcd of the two rates: the spacing of the phases' numerators
    private float[] _history;
    private int _historyCount;
    private long _historyStart;            // input index of _history[0]
    private long _produced;                // output samples produced so far

    /// <summary>Creates a resampler from <paramref name="inRate"/> to <paramref name="outRate"/> samples per second.</summary>
    public AudioResampler(int inRate, int outRate = 16000)
        : this(inRate, outRate, tabled: true)
    {
    }

    /// <summary>With <paramref name="tabled"/> false, the kernel is evaluated per tap even where a phase table would do (tests compare the two).</summary>
    internal AudioResampler(int inRate, int outRate, bool tabled)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inRate, 1000);
        ArgumentOutOfRangeException.ThrowIfLessThan(outRate, 1000);
        _inRate = inRate;
        _outRate = outRate;
        // Keep a little below the output Nyquist so the transition band does not alias into speech.
        _cutoff = Math.Min(1.0, (double)outRate / inRate) * 0.92;
        _halfWidth = (int)Math.Ceiling(ZeroCrossings / _cutoff);
        _history = new float[Math.Max(4096, 4 * _halfWidth)];
        _phaseStep = (int)System.Numerics.BigInteger.GreatestCommonDivisor(inRate, outRate);
        _phaseTaps = tabled ? s_phaseTables.GetOrAdd((inRate, outRate), _ => BuildPhaseTaps()) : null;
    }

    /// <summary>True when no conversion is needed.</summary>
    public bool IsPassThrough => _inRate == _outRate;

    /// <summary>Appends input samples and writes every output sample that is now fully determined.</summary>
    public void Process(ReadOnlySpan<float> input, List<float> output)
    {
        if (IsPassThrough)
        {
            foreach (var sample in input)
            {
                output.Add(sample);
            }
            return;
        }
        Append(input);
        Emit(output, flush: false);
    }

    /// <summary>Writes the remaining output, treating the input as followed by silence.</summary>
    public void Flush(List<float> output)
    {
        if (!IsPassThrough)
        {
            Emit(output, flush: true);
        }
    }

    private void Emit(List<float> output, bool flush)
    {
        var inputEnd = _historyStart + _historyCount;
        var totalOut = flush ? (long)Math.Ceiling((double)inputEnd * _outRate / _inRate) : long.MaxValue;
        while (_produced < totalOut)
        {
            // Exact input position of this output sample: _produced * in / out, as integer and fraction.
            var numerator = _produced * _inRate;
            var center = numerator / _outRate;
            var frac = (double)(numerator % _outRate) / _outRate;
            if (!flush && center + _halfWidth >= inputEnd)
            {
                break;
            }
            double sum = 0;
            var first = Math.Max(center - _halfWidth + 1, _historyStart);
            var last = Math.Min(center + _halfWidth, inputEnd - 1);
            if (_phaseTaps is { } table)
            {
                // The same products summed in the same order as below: the output does not change, only its cost.
                var width = 2 * _halfWidth;
                var taps = table.AsSpan((int)(numerator % _outRate / _phaseStep) * width, width);
                var samples = _history.AsSpan((int)(first - _historyStart), (int)(last - first + 1));
                taps = taps[(int)(first - center + _halfWidth - 1)..];
                for (var i = 0; i < samples.Length; i++)
                {
                    sum += samples[i] * taps[i];
                }
            }
            else
            {
                for (var k = first; k <= last; k++)
                {
                    sum += _history[k - _historyStart] * Tap(k - center, frac);
                }
            }
            output.Add((float)(sum * _cutoff));
            _produced++;
        }
        Trim();
    }

    /// <summary>The kernel's weight for the input sample <paramref name="offset"/> samples from the centre, at phase <paramref name="frac"/>.</summary>
    private float Tap(long offset, double frac) => Kernel(Math.Abs((offset - frac) * _cutoff)); // distance in zero crossings

    /// <summary>Every phase's taps (offsets 1 - half-width to half-width), or null when there are too many phases.</summary>
    private float[]? BuildPhaseTaps()
    {
        var phases = _outRate / _phaseStep;
        var width = 2 * _halfWidth;
        if ((long)phases * width > MaxPhaseTaps)
        {
            return null;
        }
        var table = new float[phases * width];
        for (var phase = 0; phase < phases; phase++)
        {
            var frac = (double)(phase * _phaseStep) / _outRate;
            for (var i = 0; i < width; i++)
            {
                table[(phase * width) + i] = Tap(i - _halfWidth + 1, frac);
            }
        }
        return table;
    }

    private static float Kernel(double x)
    {
        var position = x * TableResolution;
        var index = (int)position;
        if (index >= s_kernel.Length - 1)
        {
            return 0;
        }
        var t = (float)(position - index);
        return s_kernel[index] + (t * (s_kernel[index + 1] - s_kernel[index]));
    }

    private void Append(ReadOnlySpan<float> input)
    {
        if (_historyCount + input.Length > _history.Length)
        {
            Array.Resize(ref _history, Math.Max(_history.Length * 2, _historyCount + input.Length));
        }
        input.CopyTo(_history.AsSpan(_historyCount));
        _historyCount += input.Length;
    }

    /// <summary>Drops input that no future output sample can reach.</summary>
    private void Trim()
    {
        var nextCenter = _produced * _inRate / _outRate;
        var keepFrom = nextCenter - _halfWidth;
        var drop = (int)Math.Clamp(keepFrom - _historyStart, 0, _historyCount);
        if (drop > _history.Length / 2)
        {
            _history.AsSpan(drop, _historyCount - drop).CopyTo(_history);
            _historyCount -= drop;
            _historyStart += drop;
        }
    }

    /// <summary>sinc(x) under a Blackman window, sampled from 0 to <paramref name="zeroCrossings"/>.</summary>
    private static float[] BuildKernel(int zeroCrossings, int resolution)
    {
        var table = new float[(zeroCrossings * resolution) + 2];
        for (var i = 0; i < table.Length; i++)
        {
            var x = (double)i / resolution;
            if (x >= zeroCrossings)
            {
                continue;
            }
            var sinc = x == 0 ? 1.0 : Math.Sin(Math.PI * x) / (Math.PI * x);
            var w = 0.5 + (0.5 * x / zeroCrossings); // window position from centre (0.5) to edge (1)
            var window = 0.42 - (0.5 * Math.Cos(2 * Math.PI * w)) + (0.08 * Math.Cos(4 * Math.PI * w));
            table[i] = (float)(sinc * window);
        }
        return table;
    }

    /// <summary>Resamples a whole clip at once.</summary>
    public static float[] Resample(ReadOnlySpan<float> input, int inRate, int outRate = 16000)
    {
        var resampler = new AudioResampler(inRate, outRate);
        var output = new List<float>((int)((long)input.Length * outRate / inRate) + 16);
        resampler.Process(input, output);
        resampler.Flush(output);
        return [.. output];
    }
}
