using System.Globalization;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using SessionOptions = Microsoft.ML.OnnxRuntime.SessionOptions;

namespace Avatar.A2F.Inference.LipSync;

/// <summary>
/// The lip-sync network as an ONNX model run by ONNX Runtime (Microsoft.ML.OnnxRuntime): what the service runs, on a GPU
/// through the CUDA execution provider when it can. <see cref="Export"/> writes a trained <see cref="LipSyncNetwork"/> as
/// such a model: normalisation, three dense layers and a softmax.
/// </summary>
public sealed class OnnxVisemeModel : IVisemeModel, IDisposable
{
    /// <summary>The model's input: raw log-mel windows, [rows, <see cref="LipSyncNetwork.InputSize"/>].</summary>
    public const string InputName = "features";

    /// <summary>The model's output: viseme probabilities, [rows, <see cref="LipSyncNetwork.Outputs"/>].</summary>
    public const string OutputName = "visemes";

    /// <summary>The version <see cref="Export"/> writes: bumped whenever the training data, recipe or network changes.</summary>
    public const string CurrentVersion = "2.3.0";

    private const string CudaProvider = "CUDAExecutionProvider";
    private const string VersionKey = "avatar.lipsync.version";
    private const string ContextKey = "avatar.lipsync.context";
    private static readonly string[] s_inputNames = [InputName];
    private static readonly string[] s_outputNames = [OutputName];

    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();

    /// <summary>Loads a model file to run on the CPU.</summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">The file is not an ONNX model, or not a lip-sync model.</exception>
    public OnnxVisemeModel(string path)
        : this(path, CreateSession(path, cuda: false), runsOnCuda: false)
    {
    }

    private OnnxVisemeModel(string path, InferenceSession session, bool runsOnCuda)
    {
        _session = session;
        RunsOnCuda = runsOnCuda;
        if (!IsLipSyncModel(session))
        {
            session.Dispose();
            _runOptions.Dispose();
            throw new InvalidDataException($"{path} is not a lip-sync model: it needs one input '{InputName}' [N, {LipSyncNetwork.InputSize}] and an output '{OutputName}' [N, {LipSyncNetwork.Outputs}], of floats.");
        }
        var metadata = session.ModelMetadata.CustomMetadataMap;
        // The same input width can hold another window: such a model would run and animate nonsense, so refuse it.
        if (metadata.TryGetValue(ContextKey, out var context) && context != Context)
        {
            session.Dispose();
            _runOptions.Dispose();
            throw new InvalidDataException($"{path} is a lip-sync model for another feature window ({context}); this service builds {Context}.");
        }
        // The right shapes can still hold broken weights (NaN, a layer written wrong), which would fail every stream and
        // send clients NaN: one probe at load fails the start instead, never a stream.
        if (Probe() is { } fault)
        {
            session.Dispose();
            _runOptions.Dispose();
            throw new InvalidDataException($"{path} is no working lip-sync model: {fault}");
        }
        Version = metadata.GetValueOrDefault(VersionKey) ?? "unversioned";
        Sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path)))[..12];
    }

    private static string Context => $"past {LipSyncNetwork.Past}, future {LipSyncNetwork.Future} frames of 10 ms";

    /// <summary>The model's version, from its metadata ("unversioned" for files written before versions).</summary>
    public string Version { get; } = "";

    /// <summary>The first 12 hex digits of the file's SHA-256: tells two builds of one version apart.</summary>
    public string Sha256 { get; } = "";

    /// <summary>Whether the model runs on the GPU (CUDA device 0) rather than on the CPU.</summary>
    public bool RunsOnCuda { get; }

    /// <summary>
    /// Loads a model file for the service. With <paramref name="useCuda"/>, CUDA device 0 is tried first; where it cannot
    /// be used (no GPU, no CUDA libraries, a CPU build of ONNX Runtime) the model runs on the CPU and one warning says
    /// why. A file that is no lip-sync model fails here, so at start and never mid-stream.
    /// </summary>
    public static OnnxVisemeModel Load(string path, bool useCuda, ILoggerFactory loggers)
    {
        OnnxRuntimeLog.WriteTo(loggers.CreateLogger("Microsoft.ML.OnnxRuntime"));
        var logger = loggers.CreateLogger<OnnxVisemeModel>();
        if (!useCuda)
        {
            var cpu = new OnnxVisemeModel(path);
            logger.LogInformation("The lip-sync model {Path} (version {ModelVersion}, sha256 {ModelSha256}) runs on the CPU.", path, cpu.Version, cpu.Sha256);
            return cpu;
        }
        var (cudaSession, whyNot) = TryCreateCudaSession(path);
        if (cudaSession is not null)
        {
            var cuda = new OnnxVisemeModel(path, cudaSession, runsOnCuda: true);
            logger.LogInformation("The lip-sync model {Path} (version {ModelVersion}, sha256 {ModelSha256}) runs on CUDA device 0.", path, cuda.Version, cuda.Sha256);
            return cuda;
        }
        // Loaded before the warning: when the file itself is what CUDA failed on, the start fails on that, not on CUDA.
        var model = new OnnxVisemeModel(path);
        logger.LogWarning("A2F:UseCuda is set, but CUDA cannot be used, so the lip-sync model {Path} (version {ModelVersion}, sha256 {ModelSha256}) runs on the CPU: {Reason}",
            path, model.Version, model.Sha256, whyNot);
        return model;
    }

    private static (InferenceSession? Session, string? WhyNot) TryCreateCudaSession(string path)
    {
        if (!OrtEnv.Instance().GetAvailableProviders().Contains(CudaProvider))
        {
            return (null, $"ONNX Runtime {OrtEnv.Instance().GetVersionString()} is its CPU build, without the CUDA execution provider (build with -p:OnnxRuntimeGpu=true).");
        }
        using var errors = OnnxRuntimeLog.KeepErrors();
        try
        {
            return (CreateSession(path, cuda: true), null);
        }
        catch (OnnxRuntimeException ex)
        {
            return (null, string.Join("; ", [ex.Message, .. errors.Messages.Select(m => m.Trim())]));
        }
    }

    private static InferenceSession CreateSession(string path, bool cuda)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The lip-sync model {path} does not exist (`make model` writes it).", path);
        }
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        try
        {
            if (cuda)
            {
                options.AppendExecutionProvider_CUDA(0);
            }
            else
            {
                // One thread that sleeps between runs. A batch of every stream's rows is about a millisecond of work, so
                // more threads gain nothing, and ONNX Runtime's default threads spin after each run: with a run per
                // arriving chunk they kept a core busy whatever the load (1.2 cores at 10 streams, the A2F bench).
                options.IntraOpNumThreads = 1;
                options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
                options.AddSessionConfigEntry("session.inter_op.allow_spinning", "0");
            }
            return new InferenceSession(path, options);
        }
        catch (OnnxRuntimeException ex) when (!cuda)
        {
            throw new InvalidDataException($"{path} is not a model ONNX Runtime can load: {ex.Message}", ex);
        }
    }

    private static bool IsLipSyncModel(InferenceSession session) =>
        session.InputMetadata.Count == 1
        && session.InputMetadata.TryGetValue(InputName, out var input) && IsFloatRows(input, LipSyncNetwork.InputSize)
        && session.OutputMetadata.TryGetValue(OutputName, out var output) && IsFloatRows(output, LipSyncNetwork.Outputs);

    private static bool IsFloatRows(NodeMetadata node, int width) =>
        node.IsTensor && node.ElementDataType == TensorElementType.Float && node.Dimensions is [_, var w] && w == width;

    /// <summary>Runs a silent window and a loud one; says what is wrong when the outputs are not probabilities.</summary>
    private string? Probe()
    {
        var inputs = new float[2 * LipSyncNetwork.InputSize];
        inputs.AsSpan(0, LipSyncNetwork.InputSize).Fill(MathF.Log(1e-7f)); // the features' floor: silence
        inputs.AsSpan(LipSyncNetwork.InputSize).Fill(-2f);                  // a loud, flat spectrum
        var outputs = new float[2 * LipSyncNetwork.Outputs];
        Run(inputs, 2, outputs);
        for (var row = 0; row < 2; row++)
        {
            var probabilities = outputs.AsSpan(row * LipSyncNetwork.Outputs, LipSyncNetwork.Outputs);
            var window = row == 0 ? "silent" : "loud";
            var sum = 0f;
            foreach (var p in probabilities)
            {
                if (!float.IsFinite(p) || p < 0 || p > 1)
                {
                    return $"it gives {p} for a {window} probe window, where probabilities belong.";
                }
                sum += p;
            }
            if (Math.Abs(sum - 1) > 1e-3)
            {
                return $"its viseme probabilities for a {window} probe window add up to {sum}, not 1.";
            }
        }
        return null;
    }

    /// <inheritdoc />
    public void Run(Memory<float> inputs, int rows, Memory<float> probabilities)
    {
        // The tensors wrap the callers' (pooled) buffers: on the CPU, ONNX Runtime reads and writes them in place.
        using var input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, inputs[..(rows * LipSyncNetwork.InputSize)], [rows, LipSyncNetwork.InputSize]);
        using var output = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, probabilities[..(rows * LipSyncNetwork.Outputs)], [rows, LipSyncNetwork.Outputs]);
        _session.Run(_runOptions, s_inputNames, [input], s_outputNames, [output]);
    }

    /// <summary>The network as an ONNX model.</summary>
    public static byte[] Export(LipSyncNetwork network) => Export([network]);

    /// <summary>
    /// Networks as one ONNX model that averages their viseme probabilities: each member's normalisation, three dense
    /// layers and softmax, side by side on the same input, then the mean.
    /// </summary>
    public static byte[] Export(IReadOnlyList<LipSyncNetwork> members)
    {
        var graph = new GraphProto
        {
            Name = "graph",
            Input = { OnnxGraph.FloatTensor(InputName, -1, LipSyncNetwork.InputSize) },
            Output = { OnnxGraph.FloatTensor(OutputName, -1, LipSyncNetwork.Outputs) },
        };
        for (var k = 0; k < members.Count; k++)
        {
            var (network, m) = (members[k], $"m{k}_");
            var mean = new float[LipSyncNetwork.InputSize];
            var std = new float[LipSyncNetwork.InputSize];
            for (var i = 0; i < mean.Length; i++)
            {
                mean[i] = network.Mean[i % LogMelSpectrogram.Bands];
                std[i] = network.Std[i % LogMelSpectrogram.Bands];
            }
            graph.Initializer.Add(OnnxGraph.Weights(m + "mean", mean, LipSyncNetwork.InputSize));
            graph.Initializer.Add(OnnxGraph.Weights(m + "std", std, LipSyncNetwork.InputSize));
            graph.Initializer.Add(OnnxGraph.Weights(m + "w1", network.W1, LipSyncNetwork.Hidden, LipSyncNetwork.InputSize));
            graph.Initializer.Add(OnnxGraph.Weights(m + "b1", network.B1, LipSyncNetwork.Hidden));
            graph.Initializer.Add(OnnxGraph.Weights(m + "w2", network.W2, LipSyncNetwork.Hidden, LipSyncNetwork.Hidden));
            graph.Initializer.Add(OnnxGraph.Weights(m + "b2", network.B2, LipSyncNetwork.Hidden));
            graph.Initializer.Add(OnnxGraph.Weights(m + "w3", network.W3, LipSyncNetwork.Outputs, LipSyncNetwork.Hidden));
            graph.Initializer.Add(OnnxGraph.Weights(m + "b3", network.B3, LipSyncNetwork.Outputs));
            graph.Node.Add(OnnxGraph.Node("Sub", [InputName, m + "mean"], [m + "centred"]));
            graph.Node.Add(OnnxGraph.Node("Div", [m + "centred", m + "std"], [m + "normalised"]));
            graph.Node.Add(OnnxGraph.Node("Gemm", [m + "normalised", m + "w1", m + "b1"], [m + "z1"], ("transB", 1)));
            graph.Node.Add(OnnxGraph.Node("Relu", [m + "z1"], [m + "h1"]));
            graph.Node.Add(OnnxGraph.Node("Gemm", [m + "h1", m + "w2", m + "b2"], [m + "z2"], ("transB", 1)));
            graph.Node.Add(OnnxGraph.Node("Relu", [m + "z2"], [m + "h2"]));
            graph.Node.Add(OnnxGraph.Node("Gemm", [m + "h2", m + "w3", m + "b3"], [m + "logits"], ("transB", 1)));
            graph.Node.Add(OnnxGraph.Node("Softmax", [m + "logits"], [members.Count == 1 ? OutputName : m + "visemes"], ("axis", 1)));
        }
        if (members.Count > 1)
        {
            graph.Initializer.Add(OnnxGraph.Weights("members", [(float)members.Count], 1));
            graph.Node.Add(OnnxGraph.Node("Sum", [.. Enumerable.Range(0, members.Count).Select(k => $"m{k}_visemes")], ["total"]));
            graph.Node.Add(OnnxGraph.Node("Div", ["total", "members"], [OutputName]));
        }
        var model = OnnxGraph.Model(graph);
        model.MetadataProps.Add(new StringStringEntryProto { Key = "avatar.lipsync.bands", Value = LogMelSpectrogram.Bands.ToString(CultureInfo.InvariantCulture) });
        model.MetadataProps.Add(new StringStringEntryProto { Key = ContextKey, Value = Context });
        model.MetadataProps.Add(new StringStringEntryProto { Key = VersionKey, Value = CurrentVersion });
        model.MetadataProps.Add(new StringStringEntryProto { Key = "avatar.lipsync.members", Value = members.Count.ToString(CultureInfo.InvariantCulture) });
        model.MetadataProps.Add(new StringStringEntryProto { Key = "avatar.lipsync.visemes", Value = string.Join(',', Enum.GetNames<Viseme>()) });
        return model.ToByteArray();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
    }
}
