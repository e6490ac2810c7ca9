using System.Globalization;
using Avatar.Onnx;

namespace Avatar.A2F.Inference.LipSync;

/// <summary>
/// The lip-sync network as an ONNX model run by ONNX Runtime (lib/Avatar.Onnx): what the service runs, on a GPU through
/// the CUDA execution provider when one is present and asked for. <see cref="Export"/> writes a trained
/// <see cref="LipSyncNetwork"/> as such a model: normalisation, three dense layers and a softmax.
/// </summary>
public sealed class OnnxVisemeModel : IVisemeModel, IDisposable
{
    /// <summary>The model's input: raw log-mel windows, [rows, <see cref="LipSyncNetwork.InputSize"/>].</summary>
    public const string InputName = "features";

    /// <summary>The model's output: viseme probabilities, [rows, <see cref="LipSyncNetwork.Outputs"/>].</summary>
    public const string OutputName = "visemes";

    private readonly InferenceSession _session;

    /// <summary>Loads a model file; with <paramref name="useCuda"/>, runs it on CUDA device 0 (fails clearly without one).</summary>
    public OnnxVisemeModel(string path, bool useCuda = false)
    {
        using var options = new Avatar.Onnx.SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.All };
        if (useCuda)
        {
            options.AppendExecutionProvider_CUDA();
        }
        _session = new InferenceSession(path, options);
        var input = _session.InputMetadata.GetValueOrDefault(InputName);
        if (input is null || input.Dimensions is not [_, LipSyncNetwork.InputSize] || !_session.OutputMetadata.ContainsKey(OutputName))
        {
            throw new InvalidDataException($"{path} is not a lip-sync model: it needs input '{InputName}' [N, {LipSyncNetwork.InputSize}] and output '{OutputName}'.");
        }
    }

    /// <inheritdoc />
    public void Run(Memory<float> inputs, int rows, Memory<float> probabilities)
    {
        // ONNX Runtime reads and writes the callers' (pooled) buffers in place: no copies.
        using var inputValue = OrtValue.CreateTensorValueFromMemory(inputs[..(rows * LipSyncNetwork.InputSize)], [rows, LipSyncNetwork.InputSize]);
        using var outputValue = OrtValue.CreateTensorValueFromMemory(probabilities[..(rows * LipSyncNetwork.Outputs)], [rows, LipSyncNetwork.Outputs]);
        _session.Run([inputValue], [outputValue]);
    }

    /// <summary>The network as an ONNX model.</summary>
    public static byte[] Export(LipSyncNetwork network)
    {
        var mean = new float[LipSyncNetwork.InputSize];
        var std = new float[LipSyncNetwork.InputSize];
        for (var i = 0; i < mean.Length; i++)
        {
            mean[i] = network.Mean[i % LogMelSpectrogram.Bands];
            std[i] = network.Std[i % LogMelSpectrogram.Bands];
        }
        return new OnnxModelBuilder()
            .AddInput(InputName, TensorElementType.Float, -1, LipSyncNetwork.InputSize)
            .AddInitializer("mean", mean, LipSyncNetwork.InputSize)
            .AddInitializer("std", std, LipSyncNetwork.InputSize)
            .AddInitializer("w1", network.W1, LipSyncNetwork.Hidden, LipSyncNetwork.InputSize)
            .AddInitializer("b1", network.B1, LipSyncNetwork.Hidden)
            .AddInitializer("w2", network.W2, LipSyncNetwork.Hidden, LipSyncNetwork.Hidden)
            .AddInitializer("b2", network.B2, LipSyncNetwork.Hidden)
            .AddInitializer("w3", network.W3, LipSyncNetwork.Outputs, LipSyncNetwork.Hidden)
            .AddInitializer("b3", network.B3, LipSyncNetwork.Outputs)
            .AddNode("Sub", [InputName, "mean"], ["centred"])
            .AddNode("Div", ["centred", "std"], ["normalised"])
            .AddNode("Gemm", ["normalised", "w1", "b1"], ["z1"], ("transB", 1))
            .AddNode("Relu", ["z1"], ["h1"])
            .AddNode("Gemm", ["h1", "w2", "b2"], ["z2"], ("transB", 1))
            .AddNode("Relu", ["z2"], ["h2"])
            .AddNode("Gemm", ["h2", "w3", "b3"], ["logits"], ("transB", 1))
            .AddNode("Softmax", ["logits"], [OutputName], ("axis", 1))
            .AddOutput(OutputName, TensorElementType.Float, -1, LipSyncNetwork.Outputs)
            .AddMetadata("avatar.lipsync.bands", LogMelSpectrogram.Bands.ToString(CultureInfo.InvariantCulture))
            .AddMetadata("avatar.lipsync.context", $"past {LipSyncNetwork.Past}, future {LipSyncNetwork.Future} frames of 10 ms")
            .AddMetadata("avatar.lipsync.visemes", string.Join(',', Enum.GetNames<Viseme>()))
            .ToBytes();
    }

    /// <inheritdoc />
    public void Dispose() => _session.Dispose();
}
