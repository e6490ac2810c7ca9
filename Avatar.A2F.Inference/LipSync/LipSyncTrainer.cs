using System.Numerics.Tensors;

namespace Avatar.A2F.Inference.LipSync;

/// <summary>Training settings. Defaults make the shipped model; tests use fewer clips.</summary>
/// <param name="Clips">Training utterances to synthesise.</param>
/// <param name="Epochs">Passes over the data.</param>
/// <param name="Seed">Seed of every random choice: the same settings give the same model.</param>
/// <param name="Without">An engine left out (leave-one-engine-out evaluation), or none.</param>
/// <param name="Foreign">Whether festival's voices in other languages (<see cref="SpeechCorpus.ForeignVoices"/>) teach too.</param>
/// <param name="GnuSpeech">Whether GnuSpeech's voices (<see cref="SpeechCorpus.GnuSpeechVoices"/>) teach too, as a fourth engine.</param>
/// <param name="Warp">Each clip's mel bands moved by a factor drawn from 1 ± this (vocal tract length perturbation); 0: none.</param>
/// <param name="BandMask">The share of training rows with 1 to 6 adjacent bands set to their mean (frequency masking); 0: none.</param>
/// <param name="LabelSmoothing">The probability mass the targets spread over every viseme; 0: one-hot targets.</param>
/// <param name="Members">Networks trained with seeds Seed, Seed + 1, ..., whose probabilities the model averages.</param>
/// <param name="Dropout">The share of each hidden layer's units zeroed per training row (the rest scaled up to match); 0: none.</param>
/// <param name="DropoutEpochs">The epochs, from the first, that drop units; the rest train the whole network.</param>
/// <param name="DropoutMembers">How many of the members, the last ones, train with <paramref name="Dropout"/>; the others without.</param>
public sealed record TrainingOptions(int Clips = 1200, int Epochs = 16, int Seed = 20261122, SpeechEngine? Without = null, bool Foreign = false,
    bool GnuSpeech = false, float Warp = 0, float BandMask = 0, float LabelSmoothing = 0, int Members = 3, float Dropout = 0,
    int DropoutEpochs = int.MaxValue, int DropoutMembers = int.MaxValue)
{
    /// <summary>Whether training takes <paramref name="voice"/>.</summary>
    public bool Includes(TtsVoice voice) =>
        voice.Engine != Without && (Foreign || voice.Language == "en") && (GnuSpeech || voice.Engine != SpeechEngine.GnuSpeech);

    /// <summary>The engines training takes: the ones to leave out one at a time.</summary>
    public IReadOnlyList<SpeechEngine> Engines => [.. Enum.GetValues<SpeechEngine>().Where(e => GnuSpeech || e != SpeechEngine.GnuSpeech)];
}

/// <summary>
/// Trains <see cref="LipSyncNetwork"/> on speech from several engines labelled with each engine's own phone timings:
/// cross-entropy over visemes, Adam, minibatches. Audio is augmented (<see cref="SpeechAugmenter"/>, plus leading and
/// trailing silence over a noise floor) so the model learns speech, not an engine's level, channel or silence.
/// </summary>
public static class LipSyncTrainer
{
    private const int BatchSize = 128;
    private const float LearningRate = 2e-3f;

    /// <summary>
    /// Trains <see cref="TrainingOptions.Members"/> networks, member k with seed <c>Seed + k</c> (its own draw of
    /// sentences, voices, augmentation and initial weights), whose averaged probabilities are the model. The last
    /// <see cref="TrainingOptions.DropoutMembers"/> of them train with dropout, the others without.
    /// </summary>
    public static IReadOnlyList<LipSyncNetwork> TrainMembers(TrainingOptions options, Action<string>? log = null) =>
        [.. Enumerable.Range(0, options.Members).Select(k =>
        {
            var dropout = k >= options.Members - Math.Min(options.DropoutMembers, options.Members) ? options.Dropout : 0;
            log?.Invoke($"member {k + 1} of {options.Members}, seed {options.Seed + k}{(dropout > 0 ? $", dropout {dropout}" : "")}:");
            return Train(options with { Seed = options.Seed + k, Dropout = dropout }, log);
        })];

    /// <summary>Trains a network; <paramref name="log"/> receives progress lines.</summary>
    public static LipSyncNetwork Train(TrainingOptions options, Action<string>? log = null)
    {
        log ??= _ => { };
        var random = new Random(options.Seed);
        var clips = Prepare(options);
        var network = new LipSyncNetwork();
        Normalise(network, clips);
        Initialise(network, random);
        var rows = clips.SelectMany((c, i) => Enumerable.Range(0, c.Frames.Count).Select(f => (Clip: i, Frame: f))).ToArray();
        log($"training on {clips.Length} clips, {rows.Length} frames ({rows.Length / 100.0 / 60:0.0} min of speech)");

        var adam = new Adam(network);
        // Each batch is split in two fixed halves, one per core, each with its own gradients, summed in the same order
        // every time: twice as fast on two cores, and the same model on one.
        var parts = new[] { new Part(), new Part() };
        for (var epoch = 1; epoch <= options.Epochs; epoch++)
        {
            random.Shuffle(rows);
            foreach (var part in parts)
            {
                (part.Loss, part.Correct) = (0, 0);
            }
            for (var start = 0; start < rows.Length; start += BatchSize)
            {
                var end = Math.Min(start + BatchSize, rows.Length);
                var middle = start + ((end - start) / 2);
                Parallel.For(0, parts.Length, k => parts[k].Accumulate(network, clips, rows, k == 0 ? start : middle, k == 0 ? middle : end, options, epoch));
                parts[0].Gradients.Add(parts[1].Gradients);
                adam.Step(parts[0].Gradients, 1f / (end - start));
            }
            log($"epoch {epoch}: loss {parts.Sum(p => p.Loss) / rows.Length:0.000}, frame accuracy {100.0 * parts.Sum(p => p.Correct) / rows.Length:0.0}%");
            adam.LearningRate *= 0.85f;
        }
        return network;
    }

    /// <summary>
    /// The training data as <see cref="Train"/> sees it: the options' clips synthesised and augmented, as log-mel frames
    /// with the viseme of each frame. Other model shapes can train on exactly the same data.
    /// </summary>
    public static (List<float[]> Frames, byte[] Labels)[] Prepare(TrainingOptions options)
    {
        var speech = SpeechCorpus.Training(options.Clips, options.Seed, options.Includes);
        // Each clip draws its augmentation from its own generator, so the clips can be augmented in parallel and the
        // result does not depend on which thread got which clip.
        var clips = new (List<float[]> Frames, byte[] Labels)[speech.Count];
        Parallel.For(0, speech.Count, i => clips[i] = Augment(speech[i], new Random(unchecked(options.Seed + (i * 1_000_003))), options.Warp));
        return clips;
    }

    private static (List<float[]>, byte[]) Augment(LabelledClip clip, Random random, float warp)
    {
        var factor = warp == 0 ? 1 : 1 + (float)(((random.NextDouble() * 2) - 1) * warp);
        var lead = random.Next(0, 4800);   // up to 300 ms of silence before
        var trail = random.Next(0, 4800);  // and after
        var (speech, stretch) = SpeechAugmenter.Augment([.. new float[lead], .. clip.Samples, .. new float[trail]], random);
        var noise = MathF.Pow(10, (float)((random.NextDouble() * 30) - 75) / 20); // -75 .. -45 dBFS
        var samples = new float[speech.Length];
        for (var i = 0; i < samples.Length; i++)
        {
            samples[i] = Math.Clamp(speech[i] + (noise * (float)((random.NextDouble() * 2) - 1)), -1, 1);
        }
        var frames = LogMelSpectrogram.Compute(samples, factor);
        var labels = new byte[frames.Count];
        for (var f = 0; f < frames.Count; f++)
        {
            var seconds = (f * 0.01 / stretch) - (lead / 16000.0);
            labels[f] = (byte)(seconds < 0 ? Viseme.Sil : clip.ClassAt(seconds).Viseme);
        }
        return (frames, labels);
    }

    private static void Normalise(LipSyncNetwork network, (List<float[]> Frames, byte[] Labels)[] clips)
    {
        var bands = LogMelSpectrogram.Bands;
        var sum = new double[bands];
        var squares = new double[bands];
        long count = 0;
        foreach (var frame in clips.SelectMany(c => c.Frames))
        {
            for (var b = 0; b < bands; b++)
            {
                sum[b] += frame[b];
                squares[b] += frame[b] * frame[b];
            }
            count++;
        }
        for (var b = 0; b < bands; b++)
        {
            var mean = sum[b] / count;
            network.Mean[b] = (float)mean;
            network.Std[b] = (float)Math.Sqrt(Math.Max((squares[b] / count) - (mean * mean), 1e-6));
        }
    }

    private static void Initialise(LipSyncNetwork network, Random random)
    {
        // He initialisation for the ReLU layers, Xavier for the output layer.
        static void Fill(float[] weights, int fanIn, double scale, Random random)
        {
            var std = Math.Sqrt(scale / fanIn);
            for (var i = 0; i < weights.Length; i++)
            {
                // Box-Muller: a normal sample from two uniform ones.
                var u = 1 - random.NextDouble();
                weights[i] = (float)(std * Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * random.NextDouble()));
            }
        }
        Fill(network.W1, LipSyncNetwork.InputSize, 2, random);
        Fill(network.W2, LipSyncNetwork.Hidden, 2, random);
        Fill(network.W3, LipSyncNetwork.Hidden, 1, random);
    }

    private static void Backward(LipSyncNetwork n, Gradients g, float[] x, float[] h1, float[] h2, float[] p, int label, float smoothing, float kept)
    {
        Span<float> dz = stackalloc float[LipSyncNetwork.Outputs];
        Span<float> dh2 = stackalloc float[LipSyncNetwork.Hidden];
        Span<float> dh1 = stackalloc float[LipSyncNetwork.Hidden];
        // Softmax with cross-entropy: the output delta is p - onehot(label).
        p.CopyTo(dz);
        if (smoothing > 0)
        {
            TensorPrimitives.Subtract(dz, smoothing / LipSyncNetwork.Outputs, dz);
        }
        dz[label] -= 1 - smoothing;
        DenseBackward(n.W3, g.W3, g.B3, h2, dz, dh2);
        // A dropped unit is 0, so its delta is zeroed with the inactive ones'; a kept one was scaled by 1 / (1 - dropout).
        ReluBackward(h2, dh2);
        TensorPrimitives.Multiply(dh2, kept, dh2);
        DenseBackward(n.W2, g.W2, g.B2, h1, dh2, dh1);
        ReluBackward(h1, dh1);
        TensorPrimitives.Multiply(dh1, kept, dh1);
        DenseBackward(n.W1, g.W1, g.B1, x, dh1, []);
    }

    /// <summary>Accumulates a dense layer's gradients and, unless it is empty, the delta of its input.</summary>
    private static void DenseBackward(float[] weights, float[] weightGradients, float[] biasGradients, ReadOnlySpan<float> input,
        ReadOnlySpan<float> delta, Span<float> inputDelta)
    {
        inputDelta.Clear();
        var width = input.Length;
        for (var o = 0; o < delta.Length; o++)
        {
            if (delta[o] == 0)
            {
                continue;
            }
            biasGradients[o] += delta[o];
            var gradientRow = weightGradients.AsSpan(o * width, width);
            TensorPrimitives.MultiplyAdd(input, delta[o], gradientRow, gradientRow);
            if (!inputDelta.IsEmpty)
            {
                TensorPrimitives.MultiplyAdd(weights.AsSpan(o * width, width), delta[o], inputDelta, inputDelta);
            }
        }
    }

    private static void ReluBackward(ReadOnlySpan<float> activation, Span<float> delta)
    {
        for (var j = 0; j < delta.Length; j++)
        {
            if (activation[j] <= 0)
            {
                delta[j] = 0;
            }
        }
    }

    /// <summary>One core's share of a batch: its buffers, gradients, loss and hits.</summary>
    private sealed class Part
    {
        private readonly float[] _input = new float[LipSyncNetwork.InputSize];
        private readonly float[] _x = new float[LipSyncNetwork.InputSize];
        private readonly float[] _h1 = new float[LipSyncNetwork.Hidden];
        private readonly float[] _h2 = new float[LipSyncNetwork.Hidden];
        private readonly float[] _p = new float[LipSyncNetwork.Outputs];

        public Gradients Gradients { get; } = new();
        public double Loss { get; set; }
        public int Correct { get; set; }

        /// <summary>Clears the gradients, then adds those of rows [<paramref name="from"/>, <paramref name="to"/>).</summary>
        public void Accumulate(LipSyncNetwork network, (List<float[]> Frames, byte[] Labels)[] clips, (int Clip, int Frame)[] rows, int from, int to,
            TrainingOptions options, int epoch)
        {
            Gradients.Clear();
            for (var r = from; r < to; r++)
            {
                var (clip, frame) = rows[r];
                var label = clips[clip].Labels[frame];
                LipSyncNetwork.BuildInput(clips[clip].Frames, frame, _input);
                if (options.BandMask > 0)
                {
                    MaskBands(network, _input, options.BandMask, Dropout.Mix((ulong)epoch, (ulong)r));
                }
                var dropout = new Dropout(epoch <= options.DropoutEpochs ? options.Dropout : 0, Dropout.Mix((ulong)epoch, (ulong)r) ^ 0xD50F);
                network.Forward(_input, _x, _h1, _h2, _p, dropout);
                Loss -= Math.Log(Math.Max(_p[label], 1e-9f));
                Correct += TensorPrimitives.IndexOfMax(_p) == label ? 1 : 0;
                Backward(network, Gradients, _x, _h1, _h2, _p, label, options.LabelSmoothing, dropout.Kept);
            }
        }
    }

    /// <summary>
    /// With probability <paramref name="probability"/>, replaces 1 to 6 adjacent bands with their training mean across the
    /// whole window (SpecAugment's frequency masking): the model may not lean on any one band, as an engine's or a voice's
    /// spectrum would teach it to.
    /// </summary>
    private static void MaskBands(LipSyncNetwork network, float[] input, float probability, ulong hash)
    {
        if ((hash & 0xFFFF) / 65536f >= probability)
        {
            return;
        }
        var width = 1 + (int)((hash >> 16) % 6);
        var first = (int)((hash >> 24) % (ulong)(LogMelSpectrogram.Bands - width + 1));
        for (var c = 0; c < LipSyncNetwork.Context; c++)
        {
            for (var b = first; b < first + width; b++)
            {
                input[(c * LogMelSpectrogram.Bands) + b] = network.Mean[b];
            }
        }
    }

    private sealed class Gradients
    {
        public float[] W1 { get; } = new float[LipSyncNetwork.Hidden * LipSyncNetwork.InputSize];
        public float[] B1 { get; } = new float[LipSyncNetwork.Hidden];
        public float[] W2 { get; } = new float[LipSyncNetwork.Hidden * LipSyncNetwork.Hidden];
        public float[] B2 { get; } = new float[LipSyncNetwork.Hidden];
        public float[] W3 { get; } = new float[LipSyncNetwork.Outputs * LipSyncNetwork.Hidden];
        public float[] B3 { get; } = new float[LipSyncNetwork.Outputs];

        public float[][] All => [W1, B1, W2, B2, W3, B3];

        /// <summary>Adds <paramref name="other"/>'s gradients to these.</summary>
        public void Add(Gradients other)
        {
            var (mine, theirs) = (All, other.All);
            for (var a = 0; a < mine.Length; a++)
            {
                TensorPrimitives.Add(mine[a], theirs[a], mine[a]);
            }
        }

        public void Clear()
        {
            foreach (var array in All)
            {
                Array.Clear(array);
            }
        }
    }

    private sealed class Adam(LipSyncNetwork network)
    {
        private const float Beta1 = 0.9f;
        private const float Beta2 = 0.999f;
        private readonly float[][] _parameters = [network.W1, network.B1, network.W2, network.B2, network.W3, network.B3];
        private readonly float[][] _m = [.. new[] { network.W1, network.B1, network.W2, network.B2, network.W3, network.B3 }.Select(a => new float[a.Length])];
        private readonly float[][] _v = [.. new[] { network.W1, network.B1, network.W2, network.B2, network.W3, network.B3 }.Select(a => new float[a.Length])];
        private int _t;

        public float LearningRate { get; set; } = LipSyncTrainer.LearningRate;

        public void Step(Gradients gradients, float scale)
        {
            _t++;
            var correction1 = 1 - MathF.Pow(Beta1, _t);
            var correction2 = 1 - MathF.Pow(Beta2, _t);
            var all = gradients.All;
            for (var a = 0; a < _parameters.Length; a++)
            {
                var (w, grad, m, v) = (_parameters[a], all[a], _m[a], _v[a]);
                for (var i = 0; i < w.Length; i++)
                {
                    var gi = grad[i] * scale;
                    m[i] = (Beta1 * m[i]) + ((1 - Beta1) * gi);
                    v[i] = (Beta2 * v[i]) + ((1 - Beta2) * gi * gi);
                    w[i] -= LearningRate * (m[i] / correction1) / (MathF.Sqrt(v[i] / correction2) + 1e-8f);
                }
            }
        }
    }
}
