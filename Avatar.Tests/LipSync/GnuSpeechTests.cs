using System.Numerics.Tensors;
using System.Xml.Linq;
using Avatar.A2F.Inference.LipSync;

namespace Avatar.Tests.LipSync;

/// <summary>GnuSpeech, the articulatory teacher: its clips, the timing and classes of its postures, its place in training.</summary>
public sealed class GnuSpeechTests
{
    [Fact]
    public void GnuSpeechSpeaksASentenceWhosePosturesCoverItsAudioFromSilenceToSilence()
    {
        var clip = SpeechEngines.Speak(new Utterance("Papa bought a big apple pie for the party.", new(SpeechEngine.GnuSpeech, "female")));
        var seconds = clip.Samples.Length / 16000.0;
        var loudest = Enumerable.Range(0, clip.Samples.Length / 160 - 1).MaxBy(f => TensorPrimitives.SumOfSquares(clip.Samples.AsSpan(f * 160, 160)));

        Assert.Equal("gnuspeech female", clip.Voice.ToString());
        Assert.Equal(["^", "#", "p", "uh", "p", "ar", "b", "aw", "t"], clip.Phonemes.Take(9).Select(p => p.Name));
        Assert.Equal(TimeSpan.Zero, clip.Phonemes[0].Start);
        Assert.True(clip.Phonemes.Zip(clip.Phonemes.Skip(1)).All(p => p.First.Start < p.Second.Start));
        Assert.True(clip.ClassAt(clip.Phonemes[^1].Start.TotalSeconds + 0.001).IsSilence);
        Assert.InRange(clip.Phonemes[^1].Start.TotalSeconds, seconds - 0.3, seconds - 0.02);
        Assert.InRange(seconds, 2, 4);
        Assert.All(clip.Phonemes, p => Phonemes.Classify(p.Name, clip.Voice));
        Assert.True(clip.ClassAt(loudest * 0.01).IsOpenVowel, clip.ClassAt(loudest * 0.01).ToString());
    }

    [Fact]
    public void SentencesAfterTheFirstAreTimedFromWhereTheOneBeforeEnded()
    {
        var one = SpeechEngines.Speak(new Utterance("Bob ate a pear.", new(SpeechEngine.GnuSpeech, "male")));
        var two = SpeechEngines.Speak(new Utterance("Bob ate a pear. Pam made a map.", new(SpeechEngine.GnuSpeech, "male")));
        var second = two.Phonemes.Skip(one.Phonemes.Count).ToList();

        Assert.Equal(one.Phonemes.Select(p => p.Name), two.Phonemes.Take(one.Phonemes.Count).Select(p => p.Name));
        Assert.Equal(["^", "#", "p", "aa", "m"], second.Take(5).Select(p => p.Name));
        Assert.InRange(second[0].Start.TotalSeconds, (one.Samples.Length / 16000.0) - 0.15, (one.Samples.Length / 16000.0) + 0.01);
        Assert.True(two.Phonemes.Zip(two.Phonemes.Skip(1)).All(p => p.First.Start < p.Second.Start));
    }

    [Theory]
    [InlineData("male")]
    [InlineData("large_child")]
    public void TheMiddleOfEveryPAndBIsSilentForTheLipsAreClosedThere(string voice)
    {
        var clip = SpeechEngines.Speak(new Utterance("Bob and Pam made a big apple pie for the party.", new(SpeechEngine.GnuSpeech, voice)));
        var loudest = Enumerable.Range(0, clip.Samples.Length / 160 - 1).Max(f => Rms(clip.Samples.AsSpan(f * 160, 160)));
        var stops = clip.Phonemes.Zip(clip.Phonemes.Skip(1)).Where(p => p.First.Name.TrimEnd('\'') is "p" or "b")
            .Select(p => (Start: p.First.Start.TotalSeconds, End: p.Second.Start.TotalSeconds)).ToList();

        Assert.True(stops.Count >= 7, $"{stops.Count} p and b");
        // The middle half of each: the lips' closure, not the transitions into and out of it.
        Assert.All(stops, s =>
        {
            var middle = clip.Samples.AsSpan((int)((s.Start + ((s.End - s.Start) / 4)) * 16000), (int)((s.End - s.Start) / 2 * 16000));
            Assert.InRange(20 * Math.Log10(Rms(middle) / loudest), double.NegativeInfinity, -12);
        });
    }

    [Fact]
    public void AStretchedUtteranceIsSpokenMoreSlowly()
    {
        var slow = SpeechEngines.Speak(new Utterance("Maybe we should open the window.", new(SpeechEngine.GnuSpeech, "male"), Stretch: 1.3));
        var fast = SpeechEngines.Speak(new Utterance("Maybe we should open the window.", new(SpeechEngine.GnuSpeech, "male"), Stretch: 0.8));

        Assert.InRange((double)slow.Samples.Length / fast.Samples.Length, 1.4, 1.7);
        Assert.Equal(slow.Phonemes.Select(p => p.Name), fast.Phonemes.Select(p => p.Name));
    }

    [Fact]
    public void AClipMadeAgainIsTheClipTheCacheKept()
    {
        var utterance = new Utterance("Maybe the brown cat ate my map, mom.", new(SpeechEngine.GnuSpeech, "large_child"), Stretch: 1.1);
        var kept = SpeechEngines.Speak(utterance);
        foreach (var file in Directory.GetFiles(SpeechEngines.CacheDirectory, utterance.Key + ".*"))
        {
            File.Delete(file);
        }

        var made = SpeechEngines.Speak(utterance);

        Assert.Equal(kept.Samples, made.Samples);
        Assert.Equal(kept.Phonemes, made.Phonemes);
        Assert.NotEqual(kept.Samples, SpeechEngines.Speak(utterance with { Text = "Maybe the brown cat ate my map, dad." }).Samples);
    }

    [Theory]
    [InlineData("ar", "aa")]
    [InlineData("aa", "ae")]
    [InlineData("a", "ah")]
    [InlineData("aw'", "ao")]
    [InlineData("e", "eh")]
    [InlineData("i", "ih")]
    [InlineData("ee", "iy")]
    [InlineData("uh", "ax")]
    [InlineData("u", "uh")]
    [InlineData("uu'", "uw")]
    [InlineData("er", "er")]
    [InlineData("m'", "m")]
    [InlineData("j", "jh")]
    [InlineData("dh", "dh")]
    [InlineData("ng", "ng")]
    [InlineData("w", "w")]
    public void GnuSpeechPosturesHaveTheClassOfTheSameSoundInCmuPhones(string posture, string cmu) =>
        Assert.Equal(Phonemes.Classify(cmu, SpeechEngine.Flite), Phonemes.Classify(posture, SpeechEngine.GnuSpeech));

    [Fact]
    public void EveryPostureOfGnuSpeechHasAClassAndAnythingElseIsAnError()
    {
        var monet = XDocument.Load(Path.Combine(Repository.Root,
            "Avatar.A2F.Inference/LipSync/gnuspeech/node_modules/@echogarden/gnuspeech-wasm/data/en/monet.xml"));
        var postures = monet.Descendants("posture").Select(p => (string)p.Attribute("symbol")!).ToList();

        Assert.Equal(130, postures.Count);
        Assert.All(postures, p => Phonemes.Classify(p, SpeechEngine.GnuSpeech));
        Assert.All(new[] { "#", "#'", "^", "q", "_" }, p => Assert.True(Phonemes.Classify(p, SpeechEngine.GnuSpeech).IsSilence));
        Assert.True(Phonemes.Classify("qp", SpeechEngine.GnuSpeech).IsBilabial);
        Assert.Throws<ArgumentException>(() => Phonemes.Classify("pau", SpeechEngine.GnuSpeech));
    }

    [Fact]
    public void TrainingTakesGnuSpeechOnlyWhenAsked()
    {
        var shipped = new TrainingOptions();
        var asked = shipped with { GnuSpeech = true };

        var clips = SpeechCorpus.Training(8, seed: 12, asked.Includes);

        Assert.Equal([SpeechEngine.EspeakNg, SpeechEngine.Flite, SpeechEngine.Festival], shipped.Engines);
        Assert.Contains(SpeechEngine.GnuSpeech, asked.Engines);
        Assert.All(SpeechCorpus.GnuSpeechVoices, v => Assert.False(shipped.Includes(v)));
        Assert.All(SpeechCorpus.GnuSpeechVoices, v => Assert.True(asked.Includes(v)));
        Assert.DoesNotContain(SpeechCorpus.GnuSpeechVoices, v => (asked with { Without = SpeechEngine.GnuSpeech }).Includes(v));
        Assert.Contains(clips, c => c.Voice.Engine == SpeechEngine.GnuSpeech);
        Assert.All(clips.Where(c => c.Voice.Engine == SpeechEngine.GnuSpeech), c => Assert.Contains(c.Phonemes, p => Phonemes.Classify(p.Name, c.Voice).IsOpenVowel));
    }

    private static double Rms(ReadOnlySpan<float> samples) => Math.Sqrt(TensorPrimitives.SumOfSquares(samples) / samples.Length) + 1e-9;
}
