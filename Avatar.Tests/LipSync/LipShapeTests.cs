using Avatar.A2F.Inference.LipSync;

namespace Avatar.Tests.LipSync;

/// <summary>
/// The shipped model beyond the jaw, on the reserved kal voice (flite's and festival's), which training never hears:
/// each consonant class moves its own blend shapes more than open vowels do.
/// </summary>
public sealed class LipShapeTests
{
    private static readonly Lazy<IReadOnlyList<(PhonemeClass Reference, float[] Weights)>> s_frames = new(() =>
    {
        using var model = new OnnxVisemeModel(LipSyncCommands.DefaultModelPath);
        return LipSyncEvaluator.Frames(model, SpeechCorpus.Reserved(sentences: 8));
    });

    [Fact]
    public void ScoringTheFramesAsOneSequenceGivesWhatTheEvaluatorGives()
    {
        // Screening experiments score models that the service's own path cannot run through Score; it must be the
        // evaluator's metric, not a copy that drifts from it.
        using var model = new OnnxVisemeModel(LipSyncCommands.DefaultModelPath);
        var clips = SpeechCorpus.Reserved(sentences: 8);

        var evaluated = LipSyncEvaluator.Evaluate(model, clips);
        var scored = LipSyncEvaluator.Score("frames", s_frames.Value);

        Assert.Equal(evaluated.JawCorrelation, scored.JawCorrelation, 9);
        Assert.Equal(evaluated.LagMilliseconds, scored.LagMilliseconds);
        Assert.Equal(evaluated.ClosureRatio, scored.ClosureRatio, 9);
        Assert.Equal(evaluated.RoundingDifference, scored.RoundingDifference, 9);
        Assert.Equal(evaluated.SilenceJaw, scored.SilenceJaw, 9);
        Assert.True(scored.JawCorrelation > 0.7, scored.ToString());
    }

    [Theory]
    [InlineData(Viseme.PP, "MouthClose")]
    [InlineData(Viseme.PP, "MouthPressLeft")]
    [InlineData(Viseme.PP, "MouthPressRight")]
    [InlineData(Viseme.FF, "MouthRollLower")]
    [InlineData(Viseme.TH, "TongueOut")]
    [InlineData(Viseme.DD, "TongueTipUp")]
    [InlineData(Viseme.NN, "TongueTipUp")]
    public void AConsonantClassMovesItsShapeWellBeyondOpenVowelsOnAnUnheardVoice(Viseme viseme, string shape)
    {
        var index = BlendShapes.IndexOf(shape);
        var onClass = s_frames.Value.Where(f => f.Reference.Viseme == viseme).Select(f => f.Weights[index]).ToList();
        var onOpenVowels = s_frames.Value.Where(f => f.Reference.IsOpenVowel).Average(f => f.Weights[index]);

        Assert.True(onClass.Count >= 20, $"{onClass.Count} frames of {viseme}");
        Assert.True(onClass.Average() > (2 * onOpenVowels) + 0.02, $"{shape}: {onClass.Average():0.000} on {viseme}, {onOpenVowels:0.000} on open vowels");
    }

    [Fact]
    public void EveryTongueShapeTheTableDrivesMovesOnSpeechAndRestsInSilence()
    {
        var tongue = Enumerable.Range(0, BlendShapes.Count).Where(i => BlendShapes.Names[i].StartsWith("Tongue", StringComparison.Ordinal)
            && VisemeTable.Weights.Any(row => row[i] > 0)).ToList();

        Assert.True(tongue.Count >= 4, string.Join(", ", tongue.Select(i => BlendShapes.Names[i])));
        Assert.All(tongue, i => Assert.True(s_frames.Value.Max(f => f.Weights[i]) > 0.1, BlendShapes.Names[i]));
    }
}
