using Avatar.A2F.Contracts;
using Avatar.A2F.Inference.LipSync;

namespace Avatar.Tests.LipSync;

public sealed class AudioResamplerTests
{
    [Theory]
    [InlineData(22050)]
    [InlineData(44100)]
    [InlineData(48000)]
    [InlineData(144000)]
    public void ASineKeepsItsFrequencyAndLevelAt16Kilohertz(int rate)
    {
        var input = Sine(440, rate, seconds: 1);

        var output = AudioResampler.Resample(input, rate);

        Assert.InRange(output.Length, 15990, 16010);
        var middle = output.AsSpan(2000, 12000);
        Assert.InRange(Rms(middle), 0.5 / Math.Sqrt(2) * 0.98, 0.5 / Math.Sqrt(2) * 1.02);
        Assert.InRange(ZeroCrossings(middle) / (12000 / 16000.0) / 2, 438, 442);
    }

    [Fact]
    public void FrequenciesAboveTheNewNyquistAreRemovedNotFoldedBack()
    {
        var input = Sine(12000, 48000, seconds: 1); // would alias to 4 kHz without the low-pass

        var output = AudioResampler.Resample(input, 48000);

        Assert.True(Rms(output.AsSpan(2000, 12000)) < 0.01, "a 12 kHz tone must not survive resampling to 16 kHz");
    }

    [Theory]
    [InlineData(22050)]
    [InlineData(24000)]
    [InlineData(44100)]
    public void ThePhaseTableGivesTheSameSamplesToTheBitAsTheKernelEvaluatedPerTap(int rate)
    {
        var input = Sine(300, rate, seconds: 0.5).Select((v, i) => v + (float)(0.2 * Math.Sin(i * 0.71))).ToArray();

        float[] Streamed(bool tabled)
        {
            var resampler = new AudioResampler(rate, 16000, tabled);
            var output = new List<float>();
            for (var offset = 0; offset < input.Length; offset += 771)
            {
                resampler.Process(input.AsSpan(offset, Math.Min(771, input.Length - offset)), output);
            }
            resampler.Flush(output);
            return [.. output];
        }

        Assert.Equal(Streamed(tabled: false), Streamed(tabled: true));
    }

    [Fact]
    public void ChunkedStreamingGivesTheSameSamplesAsOneCall()
    {
        var input = Sine(300, 44100, seconds: 0.5).Select((v, i) => v + (float)(0.1 * Math.Sin(i * 0.37))).ToArray();
        var whole = AudioResampler.Resample(input, 44100);

        var resampler = new AudioResampler(44100);
        var streamed = new List<float>();
        var random = new Random(7);
        for (var offset = 0; offset < input.Length;)
        {
            var length = Math.Min(random.Next(1, 3000), input.Length - offset);
            resampler.Process(input.AsSpan(offset, length), streamed);
            offset += length;
        }
        resampler.Flush(streamed);

        Assert.Equal(whole.Length, streamed.Count);
        for (var i = 0; i < whole.Length; i++)
        {
            Assert.Equal(whole[i], streamed[i], 5);
        }
    }

    private static float[] Sine(double hz, int rate, double seconds) =>
        [.. Enumerable.Range(0, (int)(rate * seconds)).Select(i => (float)(0.5 * Math.Sin(2 * Math.PI * hz * i / rate)))];

    private static double Rms(ReadOnlySpan<float> samples)
    {
        double sum = 0;
        foreach (var s in samples)
        {
            sum += s * s;
        }
        return Math.Sqrt(sum / samples.Length);
    }

    private static int ZeroCrossings(ReadOnlySpan<float> samples)
    {
        var count = 0;
        for (var i = 1; i < samples.Length; i++)
        {
            if ((samples[i - 1] < 0) != (samples[i] < 0))
            {
                count++;
            }
        }
        return count;
    }
}
