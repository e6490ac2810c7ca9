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

    [Theory]
    [InlineData(Viseme.Sil, 0.4f, Viseme.E, 0.6f)]  // a pause the model is unsure of reads as silence
    [InlineData(Viseme.OU, 0.5f, Viseme.IH, 0.5f)]  // a rounded vowel wins over a spread one as likely
    public void ACalibratedVisemeWinsOverARivalTheModelRatesAsHighOrHigher(Viseme favoured, float p, Viseme rival, float q)
    {
        var probabilities = new float[VisemeTable.Count];
        probabilities[(int)favoured] = p;
        probabilities[(int)rival] = q;

        VisemeCalibration.Default.Apply(probabilities);

        Assert.True(probabilities[(int)favoured] > probabilities[(int)rival]);
    }
}
