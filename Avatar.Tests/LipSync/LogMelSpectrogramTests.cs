using Avatar.A2F.Inference.LipSync;

namespace Avatar.Tests.LipSync;

public sealed class LogMelSpectrogramTests
{
    [Fact]
    public void AToneLightsTheBandsAroundItsFrequency()
    {
        float[] low = [.. Enumerable.Range(0, 16000).Select(i => (float)(0.3 * Math.Sin(2 * Math.PI * 300 * i / 16000)))];
        float[] high = [.. Enumerable.Range(0, 16000).Select(i => (float)(0.3 * Math.Sin(2 * Math.PI * 4000 * i / 16000)))];

        var lowPeak = ArgMax(LogMelSpectrogram.Compute(low)[50]);
        var highPeak = ArgMax(LogMelSpectrogram.Compute(high)[50]);

        Assert.InRange(lowPeak, 3, 8);
        Assert.InRange(highPeak, 22, 28);
    }

    [Fact]
    public void AWarpedFilterbankHearsAFormantWhereAShorterOrLongerTractWouldPutIt()
    {
        float[] tone = [.. Enumerable.Range(0, 16000).Select(i => (float)(0.3 * Math.Sin(2 * Math.PI * 1000 * i / 16000)))];

        // Bands moved up by 15% hear 1 kHz where the plain bands hear 870 Hz: lower down the bank.
        var plain = ArgMax(LogMelSpectrogram.Compute(tone)[50]);
        var up = ArgMax(LogMelSpectrogram.Compute(tone, warp: 1.15f)[50]);
        var down = ArgMax(LogMelSpectrogram.Compute(tone, warp: 0.85f)[50]);

        Assert.True(up < plain && plain < down, $"{up} {plain} {down}");
        Assert.All(LogMelSpectrogram.Compute(tone, warp: 1.15f)[50], value => Assert.True(float.IsFinite(value)));
    }

    [Fact]
    public void ThereIsOneFramePerTenMillisecondsCentredOnItsTime()
    {
        var frames = LogMelSpectrogram.Compute(new float[16000]);

        Assert.Equal(100, frames.Count);
        Assert.All(frames, f => Assert.Equal(LogMelSpectrogram.Bands, f.Length));
    }

    [Fact]
    public void StreamingInSmallChunksGivesTheSameFramesAsOneCall()
    {
        float[] audio = [.. Enumerable.Range(0, 8000).Select(i => (float)Math.Sin(i * 0.05) * 0.2f)];
        var whole = LogMelSpectrogram.Compute(audio);

        var extractor = new LogMelSpectrogram();
        var streamed = new List<float[]>();
        for (var offset = 0; offset < audio.Length; offset += 333)
        {
            extractor.Process(audio.AsSpan(offset, Math.Min(333, audio.Length - offset)), streamed);
        }
        extractor.Flush(streamed);

        Assert.Equal(whole.Count, streamed.Count);
        Assert.All(whole.Zip(streamed), pair => Assert.Equal(pair.First, pair.Second));
    }

    private static int ArgMax(float[] values) => Array.IndexOf(values, values.Max());
}
