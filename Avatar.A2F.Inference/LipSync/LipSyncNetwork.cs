using System.Numerics.Tensors;

namespace Avatar.A2F.Inference.LipSync;

/// <summary>
/// The lip-sync model: a small multilayer perceptron from a window of log-mel frames (60 ms of the past, 40 ms of the
/// future) to viseme probabilities, one prediction per 10 ms feature frame. Small on purpose: it runs batched over
/// hundreds of streams, and its 40 ms look-ahead keeps the face close to the voice.
/// </summary>
public sealed class LipSyncNetwork : IVisemeModel
{
    /// <summary>Feature frames of the past in the window.</summary>
    public const int Past = 6;
    /// <summary>Feature frames of the future in the window (the model's look-ahead).</summary>
    public const int Future = 4;
    /// <summary>Frames per window.</summary>
    public const int Context = Past + 1 + Future;
    /// <summary>Values per model input row.</summary>
    public const int InputSize = Context * LogMelSpectrogram.Bands;
    /// <summary>Hidden layer width.</summary>
    public const int Hidden = 64;
    /// <summary>Output classes.</summary>
    public const int Outputs = VisemeTable.Count;

    /// <summary>Per-band mean of the training features, subtracted before the first layer.</summary>
    public float[] Mean { get; } = new float[LogMelSpectrogram.Bands];
    /// <summary>Per-band standard deviation of the training features, divided by before the first layer.</summary>
    public float[] Std { get; } = Enumerable.Repeat(1f, LogMelSpectrogram.Bands).ToArray();
    /// <summary>Layer 1 weights, row-major [Hidden, InputSize].</summary>
    public float[] W1 { get; } = new float[Hidden * InputSize];
    /// <summary>Layer 1 biases.</summary>
    public float[] B1 { get; } = new float[Hidden];
    /// <summary>Layer 2 weights [Hidden, Hidden].</summary>
    public float[] W2 { get; } = new float[Hidden * Hidden];
    /// <summary>Layer 2 biases.</summary>
    public float[] B2 { get; } = new float[Hidden];
    /// <summary>Layer 3 weights [Outputs, Hidden].</summary>
    public float[] W3 { get; } = new float[Outputs * Hidden];
    /// <summary>Layer 3 biases.</summary>
    public float[] B3 { get; } = new float[Outputs];

    /// <summary>
    /// Fills <paramref name="row"/> with the raw window of log-mel frames around frame <paramref name="center"/>; frames past
    /// either end repeat the edge frame (a stream's first frames have no past yet). Normalisation is part of the model.
    /// </summary>
    public static void BuildInput(IReadOnlyList<float[]> frames, int center, Span<float> row)
    {
        for (var c = 0; c < Context; c++)
        {
            frames[Math.Clamp(center - Past + c, 0, frames.Count - 1)].CopyTo(row.Slice(c * LogMelSpectrogram.Bands, LogMelSpectrogram.Bands));
        }
    }

    /// <summary>
    /// Viseme probabilities for one input row. Also returns the normalised input and the hidden activations for training,
    /// which may drop hidden units (<paramref name="dropout"/>; none by default, as the service runs it).
    /// </summary>
    public void Forward(ReadOnlySpan<float> input, Span<float> normalised, Span<float> h1, Span<float> h2, Span<float> probabilities,
        Dropout dropout = default)
    {
        Normalise(input, normalised);
        Dense(W1, B1, normalised, h1, relu: true);
        dropout.Apply(h1, salt: 0);
        Dense(W2, B2, h1, h2, relu: true);
        dropout.Apply(h2, salt: 1000);
        Dense(W3, B3, h2, probabilities, relu: false);
        TensorPrimitives.SoftMax(probabilities, probabilities);
    }

    /// <summary>The input row less each band's training mean, over its standard deviation.</summary>
    private void Normalise(ReadOnlySpan<float> input, Span<float> normalised)
    {
        for (var i = 0; i < InputSize; i++)
        {
            var band = i % LogMelSpectrogram.Bands;
            normalised[i] = (input[i] - Mean[band]) / Std[band];
        }
    }

    /// <summary>Viseme probabilities for one input row.</summary>
    public void Predict(ReadOnlySpan<float> input, Span<float> probabilities)
    {
        Span<float> normalised = stackalloc float[InputSize];
        Span<float> h1 = stackalloc float[Hidden];
        Span<float> h2 = stackalloc float[Hidden];
        Forward(input, normalised, h1, h2, probabilities);
    }

    /// <inheritdoc />
    public void Run(Memory<float> inputs, int rows, Memory<float> probabilities)
    {
        for (var r = 0; r < rows; r++)
        {
            Predict(inputs.Span.Slice(r * InputSize, InputSize), probabilities.Span.Slice(r * Outputs, Outputs));
        }
    }

    private static void Dense(float[] weights, float[] bias, ReadOnlySpan<float> input, Span<float> output, bool relu)
    {
        var width = input.Length;
        for (var o = 0; o < output.Length; o++)
        {
            var value = TensorPrimitives.Dot(weights.AsSpan(o * width, width), input) + bias[o];
            output[o] = relu && value < 0 ? 0 : value;
        }
    }
}

/// <summary>
/// Training's dropout: each hidden unit zeroed with probability <paramref name="Rate"/>, drawn from <paramref name="Hash"/>
/// (a hash of the epoch and the row, so either thread draws the same), and the kept ones scaled by 1 / (1 - rate): a
/// network that may not lean on any one unit, as a voice's quirks would teach it to. The default drops nothing.
/// </summary>
public readonly record struct Dropout(float Rate, ulong Hash)
{
    /// <summary>What a kept unit is multiplied by.</summary>
    public float Kept => 1 / (1 - Rate);

    /// <summary>Drops units of one layer; <paramref name="salt"/> tells the layers' draws apart.</summary>
    public void Apply(Span<float> hidden, ulong salt)
    {
        if (Rate <= 0)
        {
            return;
        }
        for (var j = 0; j < hidden.Length; j++)
        {
            hidden[j] = (Mix(Hash, salt + (ulong)j) & 0xFFFF) / 65536f < Rate ? 0 : hidden[j] * Kept;
        }
    }

    /// <summary>SplitMix64 of two numbers: a random draw that depends on them alone, whichever thread asks.</summary>
    public static ulong Mix(ulong a, ulong b)
    {
        var z = (a * 0x9E3779B97F4A7C15UL) + b + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
