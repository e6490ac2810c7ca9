#:project ../Avatar.A2F.Inference/Avatar.A2F.Inference.csproj
// A screening experiment, not the shipped model: does a recurrent network, trained end to end, hear an engine it never
// heard better than the shipped feed-forward network? Trains one network on exactly the shipped recipe's data
// (LipSyncTrainer.Prepare) with one engine left out, and scores it on that engine through the service's own streaming
// and post-processing (LipSyncEvaluator), alone and averaged with feed-forward members of the same seeds.
//
//   dotnet run -c Release experiments/recurrent-lipsync.cs -- <EspeakNg|Flite|Festival> [seed] [feed-forward members]
//
// Results are in Avatar.A2F.Inference/Models/MODEL-CARD.md ("A recurrent network").
using System.Diagnostics;
using Avatar.A2F.Inference.LipSync;
using Avatar.Experiments;

var engine = Enum.Parse<SpeechEngine>(args[0]);
var seed = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 20261122;
var members = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 2;
var options = new TrainingOptions(Without: engine, Members: 1, Seed: seed);
var clock = Stopwatch.StartNew();
var recurrent = RecurrentNetwork.Train(LipSyncTrainer.Prepare(options), new Random(seed), options.Epochs, Console.WriteLine);
Console.WriteLine($"recurrent network trained in {clock.Elapsed.TotalSeconds:0} s");
var feedForward = Enumerable.Range(0, members).Select(k => LipSyncTrainer.Train(options with { Seed = seed + k })).ToArray();

var systems = new List<(string Name, Func<IVisemeModel> Model)> { ("recurrent", () => new RecurrentVisemeModel(recurrent)) };
if (members > 0)
{
    systems.Add(($"{members} feed-forward", () => new VisemeEnsemble(feedForward)));
    systems.Add(($"{members} feed-forward + recurrent", () => new VisemeEnsemble([.. feedForward, new RecurrentVisemeModel(recurrent)])));
}
Console.WriteLine($"{engine} held out, seed {seed}: r lag 0 / p/b/m ÷ open / rounded − spread / silence");
foreach (var (name, model) in systems)
{
    // Each clip streams from a fresh state, as each evaluation sentence is its own stream in the service.
    string Score(IReadOnlyList<LabelledClip> clips)
    {
        var frames = clips.SelectMany(c => LipSyncEvaluator.Frames(model(), [c])).ToList();
        var score = LipSyncEvaluator.Score(name, frames);
        return $"{score.JawCorrelation:0.000} / {score.ClosureRatio:0.00} / {score.RoundingDifference:0.00} / {score.SilenceJaw:0.000}";
    }
    Console.WriteLine($"  {name,-28} held out {Score(SpeechCorpus.Evaluation(engine))} | kal {Score(SpeechCorpus.Reserved())}");
}

namespace Avatar.Experiments
{
    using System.Numerics.Tensors;

    /// <summary>
    /// The shipped network's first layer (a window of 11 log-mel frames to 64 ReLU units), then a gated recurrent unit of
    /// 64 (PyTorch's GRU equations) carried from frame to frame, then 15 viseme probabilities: about 48k multiply-adds per
    /// 10 ms frame, the shipped members' 28k plus the recurrence.
    /// </summary>
    internal sealed class RecurrentNetwork
    {
        public const int Input = LipSyncNetwork.InputSize;
        public const int Units = 64;
        private const int Outputs = LipSyncNetwork.Outputs;

        private readonly float[] _mean = new float[LogMelSpectrogram.Bands];
        private readonly float[] _std = new float[LogMelSpectrogram.Bands];
        private readonly float[] _w1 = new float[Units * Input], _b1 = new float[Units];
        private readonly float[] _wi = new float[3 * Units * Units], _bi = new float[3 * Units];
        private readonly float[] _wh = new float[3 * Units * Units], _bh = new float[3 * Units];
        private readonly float[] _wo = new float[Outputs * Units], _bo = new float[Outputs];

        private float[][] Parameters => [_w1, _b1, _wi, _bi, _wh, _bh, _wo, _bo];

        /// <summary>One frame: viseme probabilities from a raw input row, advancing <paramref name="state"/>.</summary>
        public void Step(ReadOnlySpan<float> row, float[] state, Span<float> probabilities)
        {
            var frame = new Frame();
            Normalise(row, frame.X);
            Forward(frame, state, probabilities);
            frame.H.CopyTo(state, 0);
        }

        private void Normalise(ReadOnlySpan<float> row, Span<float> x)
        {
            for (var i = 0; i < Input; i++)
            {
                x[i] = (row[i] - _mean[i % LogMelSpectrogram.Bands]) / _std[i % LogMelSpectrogram.Bands];
            }
        }

        private void Forward(Frame f, ReadOnlySpan<float> previous, Span<float> probabilities)
        {
            Dense(_w1, _b1, f.X, f.A1);
            for (var j = 0; j < Units; j++)
            {
                f.H1[j] = Math.Max(f.A1[j], 0);
            }
            Dense(_wi, _bi, f.H1, f.Gi);
            Dense(_wh, _bh, previous, f.Gh);
            for (var j = 0; j < Units; j++)
            {
                f.R[j] = Sigmoid(f.Gi[j] + f.Gh[j]);
                f.Z[j] = Sigmoid(f.Gi[Units + j] + f.Gh[Units + j]);
                f.N[j] = MathF.Tanh(f.Gi[(2 * Units) + j] + (f.R[j] * f.Gh[(2 * Units) + j]));
                f.H[j] = ((1 - f.Z[j]) * f.N[j]) + (f.Z[j] * previous[j]);
            }
            Dense(_wo, _bo, f.H, probabilities);
            TensorPrimitives.SoftMax(probabilities, probabilities);
        }

        private static float Sigmoid(float x) => 1 / (1 + MathF.Exp(-x));

        private static void Dense(float[] weights, float[] bias, ReadOnlySpan<float> input, Span<float> output)
        {
            for (var o = 0; o < output.Length; o++)
            {
                output[o] = TensorPrimitives.Dot(weights.AsSpan(o * input.Length, input.Length), input) + bias[o];
            }
        }

        /// <summary>
        /// Cross-entropy over whole clips, back-propagated through time; Adam as the shipped trainer's (2e-3, ×0.85 per
        /// epoch), one clip per core per step, the two cores' gradients added in a fixed order; the gradient's norm per
        /// frame clipped at 1, as recurrent networks need.
        /// </summary>
        public static RecurrentNetwork Train((List<float[]> Frames, byte[] Labels)[] clips, Random random, int epochs, Action<string> log)
        {
            var network = new RecurrentNetwork();
            network.Standardise(clips);
            network.Initialise(random);
            var parameters = network.Parameters;
            var gradients = new[] { parameters.Select(p => new float[p.Length]).ToArray(), parameters.Select(p => new float[p.Length]).ToArray() };
            var (m, v) = (parameters.Select(p => new float[p.Length]).ToArray(), parameters.Select(p => new float[p.Length]).ToArray());
            var order = Enumerable.Range(0, clips.Length).ToArray();
            var (rate, step) = (2e-3f, 0);
            for (var epoch = 1; epoch <= epochs; epoch++)
            {
                random.Shuffle(order);
                var (loss, correct, frames) = (0.0, 0L, 0L);
                for (var s = 0; s + 1 < order.Length; s += 2)
                {
                    var results = new (double Loss, int Correct)[2];
                    Parallel.For(0, 2, k =>
                    {
                        Array.ForEach(gradients[k], g => Array.Clear(g));
                        results[k] = network.Backpropagate(clips[order[s + k]].Frames, clips[order[s + k]].Labels, gradients[k]);
                    });
                    var count = clips[order[s]].Labels.Length + clips[order[s + 1]].Labels.Length;
                    (loss, correct, frames) = (loss + results[0].Loss + results[1].Loss, correct + results[0].Correct + results[1].Correct, frames + count);
                    double norm = 0;
                    for (var a = 0; a < parameters.Length; a++)
                    {
                        TensorPrimitives.Add(gradients[0][a], gradients[1][a], gradients[0][a]);
                        norm += TensorPrimitives.Dot(gradients[0][a], gradients[0][a]);
                    }
                    var scale = 1f / count / (float)Math.Max(1, Math.Sqrt(norm) / count);
                    step++;
                    var (c1, c2) = (1 - MathF.Pow(0.9f, step), 1 - MathF.Pow(0.999f, step));
                    for (var a = 0; a < parameters.Length; a++)
                    {
                        for (var i = 0; i < parameters[a].Length; i++)
                        {
                            var g = gradients[0][a][i] * scale;
                            m[a][i] = (0.9f * m[a][i]) + (0.1f * g);
                            v[a][i] = (0.999f * v[a][i]) + (0.001f * g * g);
                            parameters[a][i] -= rate * (m[a][i] / c1) / (MathF.Sqrt(v[a][i] / c2) + 1e-8f);
                        }
                    }
                }
                log($"epoch {epoch}: loss {loss / frames:0.000}, frame accuracy {100.0 * correct / frames:0.0}%");
                rate *= 0.85f;
            }
            return network;
        }

        private void Standardise((List<float[]> Frames, byte[] Labels)[] clips)
        {
            var (sum, squares, count) = (new double[LogMelSpectrogram.Bands], new double[LogMelSpectrogram.Bands], 0L);
            foreach (var frame in clips.SelectMany(c => c.Frames))
            {
                for (var b = 0; b < LogMelSpectrogram.Bands; b++)
                {
                    sum[b] += frame[b];
                    squares[b] += frame[b] * frame[b];
                }
                count++;
            }
            for (var b = 0; b < LogMelSpectrogram.Bands; b++)
            {
                var mean = sum[b] / count;
                _mean[b] = (float)mean;
                _std[b] = (float)Math.Sqrt(Math.Max((squares[b] / count) - (mean * mean), 1e-6));
            }
        }

        private void Initialise(Random random)
        {
            void Fill(float[] weights, int fanIn, double scale)
            {
                var std = Math.Sqrt(scale / fanIn);
                for (var i = 0; i < weights.Length; i++)
                {
                    weights[i] = (float)(std * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
                }
            }
            Fill(_w1, Input, 2);
            Fill(_wi, Units, 1);
            Fill(_wh, Units, 1);
            Fill(_wo, Units, 1);
        }

        /// <summary>Forward through a clip, then back through time, adding to <paramref name="g"/>; returns loss and hits.</summary>
        private (double Loss, int Correct) Backpropagate(List<float[]> clip, byte[] labels, float[][] g)
        {
            var frames = new Frame[clip.Count];
            var probabilities = new float[clip.Count][];
            var row = new float[Input];
            var (loss, correct) = (0.0, 0);
            for (var t = 0; t < clip.Count; t++)
            {
                (frames[t], probabilities[t]) = (new Frame(), new float[Outputs]);
                LipSyncNetwork.BuildInput(clip, t, row);
                Normalise(row, frames[t].X);
                Forward(frames[t], t == 0 ? new float[Units] : frames[t - 1].H, probabilities[t]);
                loss -= Math.Log(Math.Max(probabilities[t][labels[t]], 1e-9f));
                correct += TensorPrimitives.IndexOfMax(probabilities[t]) == labels[t] ? 1 : 0;
            }
            var (later, dh, dgi, dgh, dh1) = (new float[Units], new float[Units], new float[3 * Units], new float[3 * Units], new float[Units]);
            for (var t = clip.Count - 1; t >= 0; t--)
            {
                var f = frames[t];
                var previous = t == 0 ? new float[Units] : frames[t - 1].H;
                var dz = probabilities[t];
                dz[labels[t]] -= 1;
                later.CopyTo(dh, 0);
                for (var o = 0; o < Outputs; o++)
                {
                    g[7][o] += dz[o];
                    TensorPrimitives.MultiplyAdd(f.H, dz[o], g[6].AsSpan(o * Units, Units), g[6].AsSpan(o * Units, Units));
                    TensorPrimitives.MultiplyAdd(_wo.AsSpan(o * Units, Units), dz[o], dh, dh);
                }
                for (var j = 0; j < Units; j++)
                {
                    var (r, z, n) = (f.R[j], f.Z[j], f.N[j]);
                    later[j] = dh[j] * z;
                    var dn = dh[j] * (1 - z) * (1 - (n * n));
                    var dr = dn * f.Gh[(2 * Units) + j] * r * (1 - r);
                    var dzz = dh[j] * (previous[j] - n) * z * (1 - z);
                    (dgi[j], dgi[Units + j], dgi[(2 * Units) + j]) = (dr, dzz, dn);
                    (dgh[j], dgh[Units + j], dgh[(2 * Units) + j]) = (dr, dzz, dn * r);
                }
                Array.Clear(dh1);
                for (var o = 0; o < 3 * Units; o++)
                {
                    g[3][o] += dgi[o];
                    g[5][o] += dgh[o];
                    TensorPrimitives.MultiplyAdd(f.H1, dgi[o], g[2].AsSpan(o * Units, Units), g[2].AsSpan(o * Units, Units));
                    TensorPrimitives.MultiplyAdd(_wi.AsSpan(o * Units, Units), dgi[o], dh1, dh1);
                    TensorPrimitives.MultiplyAdd(previous, dgh[o], g[4].AsSpan(o * Units, Units), g[4].AsSpan(o * Units, Units));
                    TensorPrimitives.MultiplyAdd(_wh.AsSpan(o * Units, Units), dgh[o], later, later);
                }
                for (var j = 0; j < Units; j++)
                {
                    if (f.A1[j] > 0)
                    {
                        g[1][j] += dh1[j];
                        TensorPrimitives.MultiplyAdd(f.X, dh1[j], g[0].AsSpan(j * Input, Input), g[0].AsSpan(j * Input, Input));
                    }
                }
            }
            return (loss, correct);
        }

        /// <summary>One frame's activations, kept for the backward pass.</summary>
        private sealed class Frame
        {
            public float[] X { get; } = new float[Input];
            public float[] A1 { get; } = new float[Units];
            public float[] H1 { get; } = new float[Units];
            public float[] Gi { get; } = new float[3 * Units];
            public float[] Gh { get; } = new float[3 * Units];
            public float[] R { get; } = new float[Units];
            public float[] Z { get; } = new float[Units];
            public float[] N { get; } = new float[Units];
            public float[] H { get; } = new float[Units];
        }
    }

    /// <summary>The recurrent network over one stream's rows, in order, its state carried from call to call.</summary>
    internal sealed class RecurrentVisemeModel(RecurrentNetwork network) : IVisemeModel
    {
        private readonly float[] _state = new float[RecurrentNetwork.Units];

        public void Run(Memory<float> inputs, int rows, Memory<float> probabilities)
        {
            for (var r = 0; r < rows; r++)
            {
                network.Step(inputs.Span.Slice(r * RecurrentNetwork.Input, RecurrentNetwork.Input), _state,
                    probabilities.Span.Slice(r * LipSyncNetwork.Outputs, LipSyncNetwork.Outputs));
            }
        }
    }
}
