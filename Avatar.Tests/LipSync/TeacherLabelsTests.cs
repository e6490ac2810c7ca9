using Avatar.A2F.Inference.LipSync;
using Avatar.Espeak;

namespace Avatar.Tests.LipSync;

/// <summary>The checks of the teachers' labels against the sound and against each other.</summary>
public sealed class TeacherLabelsTests
{
    private static readonly LabelledClip s_clip =
        SpeechEngines.Speak(new Utterance("Bob and Pam made a big apple pie for the party.", new TtsVoice(SpeechEngine.Festival, "ked_diphone")));

    [Fact]
    public void TheClosureCheckFindsLabelsMovedLateByTheirShift()
    {
        var late = s_clip with { Phonemes = [.. s_clip.Phonemes.Select(p => p with { Start = p.Start + TimeSpan.FromMilliseconds(40) })] };

        var (count, levels) = TeacherLabels.ClosureLevels([s_clip]);
        var (_, lateLevels) = TeacherLabels.ClosureLevels([late]);

        Assert.True(count >= 6, $"{count} p and b");
        Assert.InRange(TeacherLabels.Shifts[Array.IndexOf(levels, levels.Min())], -10, 10);
        Assert.InRange(TeacherLabels.Shifts[Array.IndexOf(lateLevels, lateLevels.Min())], -50, -30);
    }

    [Fact]
    public void LabelsAgreeWithThemselvesAndLessWithAnotherEnginesAndLessStillShifted()
    {
        var espeak = SpeechCorpus.Speak("Bob and Pam made a big apple pie for the party.", new SpeechOptions("en-us"));
        var late = s_clip with { Phonemes = [.. s_clip.Phonemes.Select(p => p with { Start = p.Start + TimeSpan.FromMilliseconds(30) })] };

        var self = TeacherLabels.Agreement([s_clip], [s_clip]);
        var other = TeacherLabels.Agreement([espeak], [s_clip]);
        var shifted = TeacherLabels.Agreement([late], [s_clip]);

        Assert.Equal((1, 1, 0), (Math.Round(self.Correlation, 6), Math.Round(self.BestCorrelation, 6), self.BestLagMilliseconds));
        Assert.InRange(other.Correlation, 0.5, 0.95);
        Assert.True(shifted.Correlation < 0.95, $"r {shifted.Correlation}");
        Assert.Equal(30, shifted.BestLagMilliseconds);
    }

    [Fact]
    public void ASecondTeacherThatAgreesRaisesTheConsensusAboveTheFirstAlone()
    {
        var espeak = SpeechCorpus.Speak("Bob and Pam made a big apple pie for the party.", new SpeechOptions("en-us"));
        var late = s_clip with { Phonemes = [.. s_clip.Phonemes.Select(p => p with { Start = p.Start + TimeSpan.FromMilliseconds(30) })] };

        var alone = TeacherLabels.Consensus([[espeak]], [s_clip]);
        var withSelf = TeacherLabels.Consensus([[espeak], [s_clip]], [s_clip]);
        var withShifted = TeacherLabels.Consensus([[s_clip], [late]], [s_clip]);

        Assert.Equal(TeacherLabels.Agreement([espeak], [s_clip]), alone);
        Assert.True(withSelf.Correlation > alone.Correlation + 0.05, $"r {withSelf.Correlation} against {alone.Correlation}");
        Assert.InRange(withShifted.Correlation, TeacherLabels.Agreement([late], [s_clip]).Correlation, 0.999);
        Assert.InRange(withShifted.BestLagMilliseconds, 0, 30);
    }
}
