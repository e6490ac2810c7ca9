using System.Numerics.Tensors;
using Avatar.A2F.Contracts;

namespace Avatar.A2F.Inference.LipSync;

/// <summary>
/// Makes clean synthetic speech sound like what clients send: another speed and pitch, a room, background noise, a
/// telephone line, a lossy codec, another sample rate through the service's resampler, any level from -30 to 0 dBFS.
/// Each effect is drawn from the caller's seeded generator, so the same seed gives the same audio.
/// </summary>
public static class SpeechAugmenter
{
    private const int Rate = LogMelSpectrogram.SampleRate;
    private const int CodecBlock = 320;

    // cos(pi / N (i + 1/2) (k + 1/2)): the DCT-IV basis of the codec's blocks, computed once.
    private static readonly double[] s_dct = [.. Enumerable.Range(0, CodecBlock * CodecBlock)
        .Select(n => Math.Cos(Math.PI / CodecBlock * ((n / CodecBlock) + 0.5) * ((n % CodecBlock) + 0.5)))];

    /// <summary>The augmented samples and how much slower they play than the original (to move the labels).</summary>
    public static (float[] Samples, double Stretch) Augment(float[] clean, Random random)
    {
        var samples = clean;
        // Tape-style speed change: speed and pitch move together by up to 10%.
        var speed = 0.9 + (random.NextDouble() * 0.2);
        samples = AudioResampler.Resample(samples, (int)Math.Round(Rate * speed), Rate);
        var stretch = (double)Rate / Math.Round(Rate * speed);
        if (random.NextDouble() < 0.35)
        {
            samples = Reverberate(samples, 0.15 + (random.NextDouble() * 0.6), random);
        }
        if (random.NextDouble() < 0.5)
        {
            AddNoise(samples, 10 + (random.NextDouble() * 20), random);
        }
        if (random.NextDouble() < 0.15)
        {
            samples = Telephone(samples);
        }
        else if (random.NextDouble() < 0.2)
        {
            samples = CodecLike(samples, random);
        }
        if (random.NextDouble() < 0.15)
        {
            MuLaw(samples);
        }
        if (random.NextDouble() < 0.4)
        {
            // A client at another rate: its audio, made at that rate, goes through the service's resampler to 16 kHz.
            int[] rates = [22050, 24000, 32000, 44100, 48000];
            var rate = rates[random.Next(rates.Length)];
            samples = AudioResampler.Resample(AudioResampler.Resample(samples, Rate, rate), rate, Rate);
        }
        SetPeak(samples, -30 + (random.NextDouble() * 30));
        return (samples, stretch);
    }

    /// <summary>Convolves with a synthetic room: a direct path, then exponentially decaying noise with RT60 <paramref name="rt60"/> s.</summary>
    public static float[] Reverberate(float[] samples, double rt60, Random random)
    {
        var length = (int)(rt60 * 0.5 * Rate);
        var response = new float[length];
        var predelay = random.Next(40, 320); // 2.5 .. 20 ms before the first reflections
        var wet = 0.3 + (random.NextDouble() * 0.7);
        for (var i = predelay; i < length; i++)
        {
            // -60 dB after rt60 seconds.
            response[i] = (float)(wet * Gaussian(random) * Math.Pow(10, -3.0 * i / (rt60 * Rate)) * 0.1);
        }
        response[0] = 1;
        var output = new float[samples.Length];
        for (var tap = 0; tap < length; tap++)
        {
            if (response[tap] != 0)
            {
                var span = output.AsSpan(tap);
                TensorPrimitives.MultiplyAdd(samples.AsSpan(0, samples.Length - tap), response[tap], span, span);
            }
        }
        return output;
    }

    /// <summary>Adds noise at <paramref name="snr"/> dB below the speech's power: white, pink-ish or brown-ish, sometimes humming.</summary>
    public static void AddNoise(float[] samples, double snr, Random random)
    {
        var power = samples.Length == 0 ? 0 : TensorPrimitives.SumOfSquares(samples) / samples.Length;
        var noise = new float[samples.Length];
        // One-pole low-pass of white noise colours it; a pole near 1 gives rumble (traffic, air conditioning).
        var pole = (float)new[] { 0, 0.7, 0.95, 0.99 }[random.Next(4)];
        var hum = random.Next(3) == 0 ? random.Next(50, 61) : 0;
        float state = 0;
        for (var i = 0; i < noise.Length; i++)
        {
            state = (pole * state) + ((1 - pole) * (float)Gaussian(random));
            noise[i] = state + (hum > 0 ? 0.5f * MathF.Sin(2 * MathF.PI * hum * i / Rate) : 0);
        }
        var noisePower = TensorPrimitives.SumOfSquares(noise) / Math.Max(noise.Length, 1);
        var scale = (float)Math.Sqrt(power / Math.Max(noisePower, 1e-20) / Math.Pow(10, snr / 10));
        TensorPrimitives.MultiplyAdd(noise, scale, samples, samples);
    }

    /// <summary>A telephone line: 300-3400 Hz, carried at 8 kHz.</summary>
    public static float[] Telephone(float[] samples)
    {
        var band = Biquad.HighPass(300).Apply(samples);
        band = Biquad.LowPass(3400).Apply(band);
        return AudioResampler.Resample(AudioResampler.Resample(band, Rate, 8000), 8000, Rate);
    }

    /// <summary>
    /// A crude lossy codec: each 20 ms block's spectrum (a sine transform of half-overlapped, windowed blocks, as MP3 and
    /// Opus use) quantised with a step relative to the block's loudest coefficient, and cut above 4 to 7 kHz.
    /// </summary>
    public static float[] CodecLike(float[] samples, Random random)
    {
        const int block = CodecBlock;
        var step = 0.02 + (random.NextDouble() * 0.08);
        var cutoff = (int)(block * (4000 + random.Next(3000)) / (Rate / 2.0));
        var output = new float[samples.Length + block];
        var frame = new double[block];
        var coefficients = new double[block];
        for (var start = -block / 2; start < samples.Length; start += block / 2)
        {
            for (var i = 0; i < block; i++)
            {
                var at = start + i;
                frame[i] = (at >= 0 && at < samples.Length ? samples[at] : 0) * Math.Sin(Math.PI * (i + 0.5) / block);
            }
            // A DCT-IV of the windowed block, quantised, then inverted: sine-windowed halves overlap-add back to the signal.
            var max = 0.0;
            for (var k = 0; k < block; k++)
            {
                var sum = TensorPrimitives.Dot<double>(frame, s_dct.AsSpan(k * block, block));
                coefficients[k] = sum;
                max = Math.Max(max, Math.Abs(sum));
            }
            var q = Math.Max(max * step, 1e-9);
            for (var k = 0; k < block; k++)
            {
                coefficients[k] = k >= cutoff ? 0 : Math.Round(coefficients[k] / q) * q;
            }
            for (var i = 0; i < block; i++)
            {
                // The DCT-IV matrix is symmetric: row i is column i.
                var sum = TensorPrimitives.Dot<double>(coefficients.AsSpan(0, cutoff), s_dct.AsSpan(i * block, cutoff));
                var at = start + i;
                if (at >= 0)
                {
                    output[at] += (float)(sum * 2 / block * Math.Sin(Math.PI * (i + 0.5) / block));
                }
            }
        }
        return output[..samples.Length];
    }

    /// <summary>8-bit mu-law, as G.711 telephony carries it.</summary>
    public static void MuLaw(float[] samples)
    {
        const float mu = 255;
        var peak = Math.Max(Peak(samples), 1e-9f);
        for (var i = 0; i < samples.Length; i++)
        {
            var x = Math.Clamp(samples[i] / peak, -1, 1);
            var encoded = MathF.Round(MathF.Sign(x) * MathF.Log(1 + (mu * MathF.Abs(x))) / MathF.Log(1 + mu) * 127) / 127;
            samples[i] = peak * MathF.Sign(encoded) * (MathF.Pow(1 + mu, MathF.Abs(encoded)) - 1) / mu;
        }
    }

    /// <summary>Scales so the loudest sample sits at <paramref name="dbfs"/>.</summary>
    public static void SetPeak(float[] samples, double dbfs)
    {
        var peak = Peak(samples);
        if (peak > 0)
        {
            TensorPrimitives.Multiply(samples, (float)(Math.Pow(10, dbfs / 20) / peak), samples);
        }
    }

    private static float Peak(float[] samples) => samples.Length == 0 ? 0 : TensorPrimitives.MaxMagnitude(samples) is var m ? Math.Abs(m) : 0;

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>A second-order section (RBJ's cookbook), Q = 0.707.</summary>
    private sealed record Biquad(double B0, double B1, double B2, double A1, double A2)
    {
        public static Biquad LowPass(double hz) => Make(hz, lowPass: true);

        public static Biquad HighPass(double hz) => Make(hz, lowPass: false);

        private static Biquad Make(double hz, bool lowPass)
        {
            var w = 2 * Math.PI * hz / Rate;
            var alpha = Math.Sin(w) / (2 * 0.7071);
            var cos = Math.Cos(w);
            var a0 = 1 + alpha;
            var b1 = lowPass ? 1 - cos : -(1 + cos);
            return new Biquad(b1 / 2 / a0 * (lowPass ? 1 : -1), b1 / a0, b1 / 2 / a0 * (lowPass ? 1 : -1), -2 * cos / a0, (1 - alpha) / a0);
        }

        public float[] Apply(float[] input)
        {
            var output = new float[input.Length];
            double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
            for (var i = 0; i < input.Length; i++)
            {
                var y = (B0 * input[i]) + (B1 * x1) + (B2 * x2) - (A1 * y1) - (A2 * y2);
                (x2, x1, y2, y1) = (x1, input[i], y1, y);
                output[i] = (float)y;
            }
            return output;
        }
    }
}
