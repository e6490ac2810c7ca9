using Avatar.A2F.Inference.LipSync;
using Avatar.Espeak;
using Google.Protobuf;
using Onnx;

namespace Avatar.Tests.LipSync;

public sealed class LipSyncModelTests
{
    [Fact]
    public void EspeakReportsPhonemesInOrderWithinTheClip()
    {
        var clip = EspeakSynthesizer.Synthesize("Papa bought a map.", new SpeechOptions("en-us", 175));

        Assert.Equal(22050, clip.SampleRate);
        Assert.Equal(["p", "A:", "p", "@"], clip.Phonemes.Take(4).Select(p => p.Name));
        Assert.True(clip.Phonemes.Zip(clip.Phonemes.Skip(1)).All(p => p.First.Start <= p.Second.Start));
        Assert.True(clip.Phonemes[^1].Start < clip.Duration);
    }

    [Fact]
    public void AnUnknownVoiceIsAClearError()
    {
        var error = Assert.Throws<EspeakException>(() => EspeakSynthesizer.Synthesize("hello", new SpeechOptions("xx-nowhere")));

        Assert.Contains("xx-nowhere", error.Message);
    }

    [Theory]
    [InlineData("p", Viseme.PP)]
    [InlineData("m", Viseme.PP)]
    [InlineData("A:", Viseme.AA)]
    [InlineData("u:", Viseme.OU)]
    [InlineData("_:", Viseme.Sil)]
    [InlineData("i:", Viseme.IH)]
    [InlineData("a2", Viseme.AA)]
    public void EspeakPhonemesMapToTheirVisemes(string phoneme, Viseme viseme) =>
        Assert.Equal(viseme, Phonemes.Classify(phoneme).Viseme);

    [Fact]
    public async Task AStreamProducesThirtyFramesPerSecondOfAudioStampedAtKOverThirty()
    {
        var clip = SpeechCorpus.Speak("Hello world.", new SpeechOptions("en-us"));
        await using var model = new BatchingVisemeModel(new LipSyncNetwork());
        var stream = new LipSyncStream(model, 16000);
        var frames = new List<BlendFrame>();

        await stream.PushAsync(clip.Samples, frames);
        await stream.CompleteAsync(frames);

        Assert.Equal((int)Math.Ceiling(clip.Samples.Length / 16000.0 * 30), frames.Count);
        Assert.All(frames.Select((f, k) => (f, k)), p => Assert.Equal(p.k / 30.0, p.f.TimeCode, 9));
        Assert.All(frames, f => Assert.Equal(68, f.Weights.Length));
    }

    [Fact]
    public async Task AClosureBetweenTwoFramesSamplingPointsStillMovesTheLips()
    {
        // Output frames sit at feature frames 0, 3.33, 6.67 ...: a p/b/m heard only in feature frame 5 falls between
        // two of them, and a frame that looked at its sampling point alone would never show it.
        await using var model = new BatchingVisemeModel(new ScriptedVisemeModel(frame => frame == 5 ? Viseme.PP : Viseme.AA));
        var stream = new LipSyncStream(model, 16000);
        var frames = new List<BlendFrame>();

        await stream.PushAsync(new float[16000 / 2], frames);
        await stream.CompleteAsync(frames);

        var jaw = frames.Select(f => f.Weights[BlendShapes.JawOpen]).ToList();
        // The two frames either side of it close a little; the frames beyond stay open.
        Assert.True(jaw[1] < jaw[0] - 0.02 && jaw[2] < jaw[3] - 0.02, string.Join(' ', jaw.Take(5)));
        Assert.Equal(jaw[0], jaw[3]);
    }

    /// <summary>A model that says, for each feature frame in the order asked, the one viseme a script gives.</summary>
    private sealed class ScriptedVisemeModel(Func<int, Viseme> script) : IVisemeModel
    {
        private int _frame;

        public void Run(Memory<float> inputs, int rows, Memory<float> probabilities)
        {
            probabilities.Span[..(rows * LipSyncNetwork.Outputs)].Clear();
            for (var r = 0; r < rows; r++)
            {
                probabilities.Span[(r * LipSyncNetwork.Outputs) + (int)script(_frame++)] = 1;
            }
        }
    }

    [Fact]
    public void ABrieflyTrainedModelAlreadyBeatsTheLoudnessBaselineOnHeldOutSpeech()
    {
        var network = LipSyncTrainer.Train(new TrainingOptions(Clips: 40, Epochs: 3));
        var evaluation = SpeechCorpus.Evaluation(SpeechEngine.EspeakNg, sentences: 4);

        var model = LipSyncEvaluator.Evaluate(network, evaluation);
        var loudness = LipSyncEvaluator.EvaluateLoudnessBaseline(evaluation);

        Assert.True(model.JawCorrelation > loudness.JawCorrelation, $"{model} vs {loudness}");
        Assert.True(model.ClosureRatio < loudness.ClosureRatio, $"{model} vs {loudness}");
        Assert.True(model.RoundingRatio > 1.5, model.ToString());
    }
}

public sealed class ShippedLipSyncModelTests
{
    [Fact]
    public void TrainingTwiceWithTheSameSeedWritesTheSameBytes()
    {
        // Each batch is split over two cores; the halves and their sum must not depend on which thread ran first. The
        // clips are flite's and festival's: espeak-ng, in process, carries state from one clip to the next (a clip can
        // come out a few samples longer after another voice's), so the same calls give the same samples in a new process,
        // as `make model` runs, but not twice in one.
        var options = new TrainingOptions(Clips: 8, Epochs: 2, Without: SpeechEngine.EspeakNg);

        Assert.Equal(OnnxVisemeModel.Export(LipSyncTrainer.Train(options)), OnnxVisemeModel.Export(LipSyncTrainer.Train(options)));
    }

    [Fact]
    public void DropoutDrawsTheSameUnitsEveryTimeAndChangesTheModel()
    {
        // The dropped units come from a hash of the epoch and the row, not from a generator the two threads would share.
        var plain = new TrainingOptions(Clips: 8, Epochs: 2, Without: SpeechEngine.EspeakNg);
        var dropout = plain with { Dropout = 0.2f, DropoutEpochs = 1 };

        var once = OnnxVisemeModel.Export(LipSyncTrainer.Train(dropout));

        Assert.Equal(once, OnnxVisemeModel.Export(LipSyncTrainer.Train(dropout)));
        Assert.NotEqual(once, OnnxVisemeModel.Export(LipSyncTrainer.Train(plain)));
    }

    [Fact]
    public void OnlyTheLastMembersTrainWithDropoutWhenAskedFor()
    {
        var mixed = new TrainingOptions(Clips: 8, Epochs: 1, Without: SpeechEngine.EspeakNg, Members: 2, Dropout: 0.2f, DropoutMembers: 1);

        var members = LipSyncTrainer.TrainMembers(mixed).Select(OnnxVisemeModel.Export).ToList();

        Assert.Equal(OnnxVisemeModel.Export(LipSyncTrainer.Train(mixed with { Dropout = 0 })), members[0]);
        Assert.Equal(OnnxVisemeModel.Export(LipSyncTrainer.Train(mixed with { Seed = mixed.Seed + 1 })), members[1]);
        Assert.NotEqual(OnnxVisemeModel.Export(LipSyncTrainer.Train(mixed with { Seed = mixed.Seed + 1, Dropout = 0 })), members[1]);
    }

    [Fact]
    public void TheOnnxExportComputesWhatTheNetworkComputes()
    {
        var network = LipSyncTrainer.Train(new TrainingOptions(Clips: 8, Epochs: 1));
        using var file = new TemporaryFile(OnnxVisemeModel.Export(network));
        using var onnx = new OnnxVisemeModel(file.Path);

        VisemeModelAssert.Agree(network, onnx, rows: 7, seed: 5);
    }

    [Fact]
    public void TheOnnxExportOfSeveralNetworksAveragesWhatEachComputes()
    {
        var members = LipSyncTrainer.TrainMembers(new TrainingOptions(Clips: 8, Epochs: 1, Members: 2));
        using var file = new TemporaryFile(OnnxVisemeModel.Export(members));
        using var onnx = new OnnxVisemeModel(file.Path);

        Assert.NotEqual(members[0].W1, members[1].W1);
        VisemeModelAssert.Agree(new VisemeEnsemble(members), onnx, rows: 7, seed: 5);
    }

    [Fact]
    public void TheShippedModelMeetsTheBaselineBarsOnTheReservedVoice()
    {
        using var model = new OnnxVisemeModel(LipSyncCommands.DefaultModelPath);
        var clips = SpeechCorpus.Reserved(sentences: 6);

        var score = LipSyncEvaluator.Evaluate(model, clips);

        Assert.True(score.Failures().Count == 0, string.Join("; ", score.Failures()) + " " + score);
        Assert.InRange(score.LagMilliseconds, -40, 40);
    }

    [Fact]
    public void AFileThatIsNotALipSyncModelIsRefusedClearly()
    {
        using var file = new TemporaryFile(OnnxGraph.Model(new GraphProto
        {
            Input = { OnnxGraph.FloatTensor("x", 1, 2) },
            Node = { OnnxGraph.Node("Relu", ["x"], ["y"]) },
            Output = { OnnxGraph.FloatTensor("y", 1, 2) },
        }).ToByteArray());

        var error = Assert.Throws<InvalidDataException>(() => new OnnxVisemeModel(file.Path));

        Assert.Contains("features", error.Message);
    }
}
