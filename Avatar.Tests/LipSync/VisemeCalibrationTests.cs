using Avatar.A2F.Inference.LipSync;

namespace Avatar.Tests.LipSync;

public sealed class VisemeCalibrationTests
{
    [Fact]
    public void AClosureTheModelRanksSecondBehindAnOpenVowelComesFirstAndTheBlendStillSumsToOne()
    {
        var probabilities = new float[VisemeTable.Count];
        probabilities[(int)Viseme.AA] = 0.4f;
        probabilities[(int)Viseme.PP] = 0.3f;
        probabilities[(int)Viseme.E] = 0.3f;

        VisemeCalibration.Default.Apply(probabilities);

        Assert.Equal((int)Viseme.PP, probabilities.AsSpan().IndexOf(probabilities.Max()));
        Assert.Equal(1f, probabilities.Sum(), 1e-5f);
    }

    [Fact]
    public void WithoutGainsOrSharpeningTheProbabilitiesAreLeftAsTheyAre()
    {
        var probabilities = Enumerable.Range(1, VisemeTable.Count).Select(v => v / 120f).ToArray();
        var before = probabilities.ToArray();

        new VisemeCalibration(Sharpness: 1, ClosureGain: 1, RoundingGain: 1, SilenceGain: 1).Apply(probabilities);

        Assert.Equal(before, probabilities, (a, b) => Math.Abs(a - b) < 1e-6f);
    }

    [Fact]
    public void APauseTheModelIsUnsureOfReadsAsSilence()
    {
        var probabilities = new float[VisemeTable.Count];
        probabilities[(int)Viseme.Sil] = 0.4f;
        probabilities[(int)Viseme.E] = 0.6f;

        VisemeCalibration.Default.Apply(probabilities);

        Assert.True(probabilities[(int)Viseme.Sil] > probabilities[(int)Viseme.E]);
    }

    [Fact]
    public void RoundedVowelsGainOnASpreadVowelOfTheSameProbability()
    {
        var probabilities = new float[VisemeTable.Count];
        probabilities[(int)Viseme.IH] = 0.5f;
        probabilities[(int)Viseme.OU] = 0.5f;

        VisemeCalibration.Default.Apply(probabilities);

        Assert.True(probabilities[(int)Viseme.OU] > probabilities[(int)Viseme.IH]);
    }
}
