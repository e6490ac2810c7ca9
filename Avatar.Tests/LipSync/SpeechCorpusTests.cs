using System.Numerics.Tensors;
using Avatar.A2F.Inference.LipSync;
using Avatar.Espeak;

namespace Avatar.Tests.LipSync;

/// <summary>The training speech: engines other than espeak-ng, their phone timings, the reserved voice, the augmentation.</summary>
public sealed class SpeechCorpusTests
{
    [Theory]
    [InlineData(SpeechEngine.Flite, "slt")]
    [InlineData(SpeechEngine.Festival, "ked_diphone")]
    [InlineData(SpeechEngine.Festival, "cmu_us_slt_arctic_hts")]
    public void FliteAndFestivalReportTheirPhonesInOrderWithinTheClip(SpeechEngine engine, string voice)
    {
        var clip = SpeechEngines.Speak(new Utterance("Papa bought a map.", new TtsVoice(engine, voice)));

        Assert.Equal(["pau", "p", "aa", "p"], clip.Phonemes.Take(4).Select(p => p.Name));
        Assert.True(clip.Phonemes.Zip(clip.Phonemes.Skip(1)).All(p => p.First.Start < p.Second.Start));
        Assert.InRange(clip.Phonemes[^1].Start.TotalSeconds, 0.8, clip.Samples.Length / 16000.0);
        Assert.Equal(Viseme.PP, clip.ClassAt(clip.Phonemes[1].Start.TotalSeconds + 0.01).Viseme);
        Assert.True(clip.ClassAt(clip.Phonemes[2].Start.TotalSeconds + 0.01).IsOpenVowel);
    }

    [Fact]
    public void EspeakNgsVoicelessStopsSpanTheirClosuresSilenceAndTheSoundAfterStartsAtTheBurst()
    {
        var options = new SpeechOptions("en-us");
        // One synthesis, placed: espeak-ng carries state from one call to the next, and two calls for one text have
        // differed by 60 ms at a pause, after other voices had spoken in between.
        var spoken = EspeakSynthesizer.Synthesize("Papa bought a tidy cake, Kate.", options);
        var reported = spoken.Phonemes;
        var clip = SpeechEngines.FromEspeak(spoken, new TtsVoice(SpeechEngine.EspeakNg, options.Voice), "");
        var loudest = Enumerable.Range(0, clip.Samples.Length / 80).Max(k => Level(clip.Samples.AsSpan(k * 80, 80)));
        double LevelAt(TimeSpan start, int milliseconds) => Level(clip.Samples.AsSpan((int)(start.TotalSeconds * 16000), milliseconds * 16)) - loudest;
        var earlier = clip.Phonemes.Zip(reported).Select(p => (p.Second.Start - p.First.Start).TotalMilliseconds).ToList();
        var stops = Enumerable.Range(1, clip.Phonemes.Count - 2).Where(i => clip.Phonemes[i].Name[0] is 'p' or 't' or 'k' && clip.Phonemes[i - 1].Name[0] != '_').ToList();

        Assert.Equal(reported.Select(p => p.Name), clip.Phonemes.Select(p => p.Name));
        Assert.True(stops.Count >= 5, $"{stops.Count} stops");
        Assert.All(stops, i =>
        {
            Assert.InRange(earlier[i], 10, 150);
            Assert.InRange(LevelAt(clip.Phonemes[i].Start, 15), double.NegativeInfinity, -40);
            // The sound after the stop starts just into the burst, where its reported start was after the aspiration.
            Assert.InRange(earlier[i + 1], 10, 100);
            Assert.InRange(LevelAt(clip.Phonemes[i + 1].Start - TimeSpan.FromMilliseconds(5), 5), -50, 0);
        });
        // The first stop follows the opening silence, a pause: it keeps its reported start.
        Assert.InRange(earlier[0], -5, 5);
        Assert.InRange(earlier[1], 10, 100);
    }

    private static double Level(ReadOnlySpan<float> samples) => 10 * Math.Log10((TensorPrimitives.SumOfSquares(samples) / samples.Length) + 1e-12);

    [Fact]
    public void TheLoudestPartOfAFestivalClipIsAVowelNotAPause()
    {
        var clip = SpeechEngines.Speak(new Utterance("Papa bought a map.", new TtsVoice(SpeechEngine.Festival, "ked_diphone")));
        var loudest = Enumerable.Range(0, clip.Samples.Length / 160 - 1).MaxBy(f => TensorPrimitives.SumOfSquares(clip.Samples.AsSpan(f * 160, 160)));

        Assert.True(clip.ClassAt(loudest * 0.01).IsOpenVowel, clip.ClassAt(loudest * 0.01).ToString());
    }

    [Theory]
    [InlineData("m", Viseme.PP)]
    [InlineData("aa", Viseme.AA)]
    [InlineData("uw", Viseme.OU)]
    [InlineData("dh", Viseme.TH)]
    [InlineData("iy", Viseme.IH)]
    [InlineData("pau", Viseme.Sil)]
    public void CmuPhonesMapToTheirVisemes(string phone, Viseme viseme) =>
        Assert.Equal(viseme, Phonemes.Classify(phone, SpeechEngine.Flite).Viseme);

    [Theory]
    [InlineData("ch", "cs", Viseme.KK)]
    [InlineData("c~", "cs", Viseme.CH)]
    [InlineData("@", "fi", Viseme.AA)]
    [InlineData("y", "fi", Viseme.OU)]
    [InlineData("a1", "it", Viseme.AA)]
    [InlineData("p:", "fi", Viseme.PP)]
    [InlineData("L", "ca", Viseme.NN)]
    [InlineData("#", "cs", Viseme.Sil)]
    public void PhonesOfOtherLanguagesMapToTheVisemeOfTheirSoundInThatLanguage(string phone, string language, Viseme viseme)
    {
        Assert.True(Phonemes.TryClassify(phone, language, out var phoneme));
        Assert.Equal(viseme, phoneme.Viseme);
    }

    [Fact]
    public void EveryPhoneTheVoicesInOtherLanguagesSpeakHasAViseme()
    {
        var clips = SpeechCorpus.Training(12, seed: 5, v => v.Language != "en");

        Assert.True(clips.Select(c => c.Voice.Language).Distinct().Count() >= 3, "too few languages drawn to check");
        Assert.All(clips, clip => Assert.All(clip.Phonemes, p => Assert.True(Phonemes.TryClassify(p.Name, clip.Voice.Language, out _), $"{clip.Voice}: '{p.Name}'")));
        Assert.All(clips, clip => Assert.Contains(clip.Phonemes, p => Phonemes.Classify(p.Name, clip.Voice).IsOpenVowel));
    }

    [Fact]
    public void TrainingSpeechComesFromEveryEngineButNeverFromTheReservedVoice()
    {
        var clips = SpeechCorpus.Training(24, seed: 3);
        var withoutFlite = SpeechCorpus.Training(12, seed: 3, v => v.Engine != SpeechEngine.Flite);

        Assert.Equal(Enum.GetValues<SpeechEngine>(), clips.Select(c => c.Voice.Engine).Distinct().Order());
        Assert.DoesNotContain(clips, c => c.Voice.IsReserved);
        Assert.DoesNotContain(withoutFlite, c => c.Voice.Engine == SpeechEngine.Flite);
        Assert.DoesNotContain(SpeechCorpus.TrainingVoices, v => v.IsReserved);
        Assert.All(SpeechCorpus.ReservedVoices, v => Assert.True(v.IsReserved));
    }

    [Fact]
    public void TheSameSeedAugmentsTheSameWayAndAnotherSeedDifferently()
    {
        var clean = SpeechCorpus.Speak("Bob ate a pear.", new("en-us")).Samples;

        var first = SpeechAugmenter.Augment(clean, new Random(1));
        var again = SpeechAugmenter.Augment(clean, new Random(1));
        var other = SpeechAugmenter.Augment(clean, new Random(2));

        Assert.Equal(first.Samples, again.Samples);
        Assert.NotEqual(first.Samples, other.Samples);
        Assert.InRange(first.Stretch, 1 / 1.1, 1 / 0.9);
        Assert.InRange(TensorPrimitives.MaxMagnitude(first.Samples), Math.Pow(10, -30 / 20.0) * 0.999, 1.0001);
    }

    [Fact]
    public void NoiseIsAddedAtTheSignalToNoiseRatioAskedFor()
    {
        var clean = SpeechCorpus.Speak("Bob ate a pear.", new("en-us")).Samples;
        var noisy = (float[])clean.Clone();

        SpeechAugmenter.AddNoise(noisy, snr: 15, new Random(4));

        var snr = 10 * Math.Log10(TensorPrimitives.SumOfSquares(clean) / TensorPrimitives.SumOfSquares(Difference(noisy, clean)));
        Assert.InRange(snr, 14.9, 15.1);
    }

    [Fact]
    public void ATelephoneLineRemovesWhatIsBelow300AndAbove3400Hz()
    {
        Assert.InRange(Gain(100, SpeechAugmenter.Telephone), 0, 0.15);
        Assert.InRange(Gain(1000, SpeechAugmenter.Telephone), 0.85, 1.1);
        Assert.InRange(Gain(6000, SpeechAugmenter.Telephone), 0, 0.05);
    }

    [Fact]
    public void TheCodecDegradesSpeechWithoutDestroyingIt()
    {
        var clean = SpeechCorpus.Speak("Bob ate a pear.", new("en-us")).Samples;

        var coded = SpeechAugmenter.CodecLike(clean, new Random(5));

        var snr = 10 * Math.Log10(TensorPrimitives.SumOfSquares(clean) / TensorPrimitives.SumOfSquares(Difference(coded, clean)));
        Assert.InRange(snr, 3, 40);
        Assert.InRange(Gain(7500, s => SpeechAugmenter.CodecLike(s, new Random(5))), 0, 0.05);
    }

    [Fact]
    public void ARoomAddsATailAfterTheSoundStops()
    {
        var click = new float[16000];
        click[100] = 1;

        var room = SpeechAugmenter.Reverberate(click, rt60: 0.5, new Random(6));

        Assert.Equal(1, room[100]);
        Assert.True(TensorPrimitives.SumOfSquares(room.AsSpan(1100, 2000)) > 1e-4, "a tail 60 ms later");
        Assert.True(TensorPrimitives.SumOfSquares(room.AsSpan(9000)) < 1e-9, "nothing after the response ends");
    }

    /// <summary>Amplitude ratio of a sine through <paramref name="effect"/>, away from the edges.</summary>
    private static double Gain(double hz, Func<float[], float[]> effect)
    {
        var sine = Enumerable.Range(0, 16000).Select(i => 0.5f * MathF.Sin((float)(2 * Math.PI * hz * i / 16000))).ToArray();
        var output = effect(sine);
        return Math.Sqrt(TensorPrimitives.SumOfSquares(output.AsSpan(4000, 8000)) / TensorPrimitives.SumOfSquares(sine.AsSpan(4000, 8000)));
    }

    private static float[] Difference(float[] a, float[] b)
    {
        var result = new float[b.Length];
        TensorPrimitives.Subtract(a.AsSpan(0, b.Length), b, result);
        return result;
    }
}
