using System.Buffers;
using System.Runtime.InteropServices;

namespace Avatar.Onnx;

/// <summary>A native ONNX Runtime object, released exactly once.</summary>
internal sealed class OrtHandle(nint handle, Action<nint> release) : SafeHandle(handle, ownsHandle: true)
{
    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        release(handle);
        return true;
    }
}

/// <summary>The process-wide ONNX Runtime environment (logging, thread pools), created on first use.</summary>
public static class OrtEnv
{
    private static readonly Lazy<OrtHandle> s_env = new(() => new OrtHandle(OrtApi.CreateEnv(logLevel: 3, "avatar"), OrtApi.ReleaseEnv));
    private static readonly Lazy<OrtHandle> s_cpuMemory = new(() => new OrtHandle(OrtApi.CreateCpuMemoryInfo(), OrtApi.ReleaseMemoryInfo));

    /// <summary>The native library's version.</summary>
    public static string Version => OrtApi.Version;

    internal static nint Handle => s_env.Value.DangerousGetHandle();

    internal static nint CpuMemory => s_cpuMemory.Value.DangerousGetHandle();
}

/// <summary>Graph optimisation levels.</summary>
public enum GraphOptimizationLevel
{
    /// <summary>None.</summary>
    DisableAll = 0,
    /// <summary>Basic (constant folding, redundant nodes).</summary>
    Basic = 1,
    /// <summary>Extended (fusions).</summary>
    Extended = 2,
    /// <summary>Everything, layout optimisations included.</summary>
    All = 99,
}

/// <summary>How a session runs: threads, graph optimisation, execution providers.</summary>
public sealed class SessionOptions : IDisposable
{
    private readonly OrtHandle _handle = new(OrtApi.CreateSessionOptions(), OrtApi.ReleaseSessionOptions);

    internal nint Handle => _handle.DangerousGetHandle();

    /// <summary>Threads used inside one operator (0: ONNX Runtime's default).</summary>
    public int IntraOpNumThreads { set => OrtApi.SetIntraOpNumThreads(Handle, value); }

    /// <summary>Threads used to run independent operators in parallel (0: default).</summary>
    public int InterOpNumThreads { set => OrtApi.SetInterOpNumThreads(Handle, value); }

    /// <summary>Graph optimisation level.</summary>
    public GraphOptimizationLevel GraphOptimizationLevel { set => OrtApi.SetGraphOptimizationLevel(Handle, (int)value); }

    /// <summary>
    /// Runs the session on CUDA device <paramref name="deviceId"/>. Throws <see cref="OnnxRuntimeException"/> when the CUDA
    /// execution provider's library (libonnxruntime_providers_cuda.so, with CUDA and cuDNN) cannot be loaded.
    /// </summary>
    public void AppendExecutionProvider_CUDA(int deviceId = 0) => OrtApi.Check(OrtApi.OrtSessionOptionsAppendExecutionProvider_CUDA(Handle, deviceId));

    /// <inheritdoc />
    public void Dispose() => _handle.Dispose();
}

/// <summary>The element type and shape of a model input or output (-1 marks a dimension fixed only at run time).</summary>
/// <param name="ElementType">Element type.</param>
/// <param name="Dimensions">Shape.</param>
public sealed record NodeMetadata(TensorElementType ElementType, long[] Dimensions);

/// <summary>
/// A loaded model, as Microsoft.ML.OnnxRuntime's InferenceSession: metadata of its inputs and outputs, and Run.
/// Run may be called from many threads at once.
/// </summary>
public sealed class InferenceSession : IDisposable
{
    private readonly OrtHandle _handle;
    private readonly nint[] _inputNames;
    private readonly nint[] _outputNames;

    /// <summary>Loads a model from a file.</summary>
    public InferenceSession(string modelPath, SessionOptions? options = null)
        : this(options, o => OrtApi.CreateSession(OrtEnv.Handle, modelPath, o))
    {
    }

    /// <summary>Loads a model from its bytes.</summary>
    public InferenceSession(byte[] model, SessionOptions? options = null)
        : this(options, o => OrtApi.CreateSessionFromArray(OrtEnv.Handle, model, o))
    {
    }

    private InferenceSession(SessionOptions? options, Func<nint, nint> create)
    {
        var owned = options is null ? new SessionOptions() : null;
        try
        {
            _handle = new OrtHandle(create((options ?? owned!).Handle), OrtApi.ReleaseSession);
        }
        finally
        {
            owned?.Dispose();
        }
        var session = _handle.DangerousGetHandle();
        InputMetadata = Metadata(session, input: true);
        OutputMetadata = Metadata(session, input: false);
        _inputNames = [.. InputMetadata.Keys.Select(Marshal.StringToCoTaskMemUTF8)];
        _outputNames = [.. OutputMetadata.Keys.Select(Marshal.StringToCoTaskMemUTF8)];
    }

    /// <summary>Inputs by name, in model order.</summary>
    public IReadOnlyDictionary<string, NodeMetadata> InputMetadata { get; }

    /// <summary>Outputs by name, in model order.</summary>
    public IReadOnlyDictionary<string, NodeMetadata> OutputMetadata { get; }

    /// <summary>Input names in model order.</summary>
    public IReadOnlyList<string> InputNames => [.. InputMetadata.Keys];

    /// <summary>Output names in model order.</summary>
    public IReadOnlyList<string> OutputNames => [.. OutputMetadata.Keys];

    /// <summary>
    /// Runs the model on every input (in model order) and writes every output (in model order) into the given values,
    /// which wrap caller memory: nothing is copied on the way in or out.
    /// </summary>
    public unsafe void Run(IReadOnlyList<OrtValue> inputs, IReadOnlyList<OrtValue> outputs)
    {
        if (inputs.Count != _inputNames.Length || outputs.Count != _outputNames.Length)
        {
            throw new ArgumentException($"The model takes {_inputNames.Length} inputs and gives {_outputNames.Length} outputs.");
        }
        var inputHandles = stackalloc nint[inputs.Count];
        var outputHandles = stackalloc nint[outputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            inputHandles[i] = inputs[i].Handle;
        }
        for (var i = 0; i < outputs.Count; i++)
        {
            outputHandles[i] = outputs[i].Handle;
        }
        fixed (nint* inNames = _inputNames)
        fixed (nint* outNames = _outputNames)
        {
            OrtApi.Run(_handle.DangerousGetHandle(), inNames, inputHandles, (nuint)inputs.Count, outNames, (nuint)outputs.Count, outputHandles);
        }
    }

    /// <summary>Runs the model and returns newly allocated outputs (owned by the caller: dispose them).</summary>
    public unsafe IReadOnlyList<OrtValue> Run(IReadOnlyList<OrtValue> inputs)
    {
        var outputHandles = new nint[_outputNames.Length];
        var inputHandles = stackalloc nint[inputs.Count];
        for (var i = 0; i < inputs.Count; i++)
        {
            inputHandles[i] = inputs[i].Handle;
        }
        if (inputs.Count != _inputNames.Length)
        {
            throw new ArgumentException($"The model takes {_inputNames.Length} inputs, not {inputs.Count}.");
        }
        fixed (nint* inNames = _inputNames)
        fixed (nint* outNames = _outputNames)
        fixed (nint* outputs = outputHandles)
        {
            OrtApi.Run(_handle.DangerousGetHandle(), inNames, inputHandles, (nuint)inputs.Count, outNames, (nuint)outputHandles.Length, outputs);
        }
        return [.. outputHandles.Select(h => new OrtValue(h, default))];
    }

    private static Dictionary<string, NodeMetadata> Metadata(nint session, bool input)
    {
        var result = new Dictionary<string, NodeMetadata>();
        for (var i = 0; i < OrtApi.SessionGetCount(session, input); i++)
        {
            var (type, dims) = OrtApi.SessionGetTypeInfo(session, i, input);
            result[OrtApi.SessionGetName(session, i, input)] = new NodeMetadata(type, dims);
        }
        return result;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _handle.Dispose();
        foreach (var name in _inputNames.Concat(_outputNames))
        {
            Marshal.FreeCoTaskMem(name);
        }
        Array.Clear(_inputNames);
        Array.Clear(_outputNames);
    }
}

/// <summary>
/// A tensor handed to or received from ONNX Runtime. Values made with <see cref="CreateTensorValueFromMemory{T}"/> wrap
/// the caller's memory (pinned while the value lives): no copy is made.
/// </summary>
public sealed class OrtValue : IDisposable
{
    private readonly OrtHandle _handle;
    private MemoryHandle _pin;

    internal OrtValue(nint handle, MemoryHandle pin)
    {
        _handle = new OrtHandle(handle, OrtApi.ReleaseValue);
        _pin = pin;
    }

    internal nint Handle => _handle.DangerousGetHandle();

    /// <summary>Wraps <paramref name="data"/> as a tensor of <paramref name="shape"/> (float, long or int elements).</summary>
    public static unsafe OrtValue CreateTensorValueFromMemory<T>(Memory<T> data, long[] shape) where T : unmanaged
    {
        var type = typeof(T) == typeof(float) ? TensorElementType.Float
            : typeof(T) == typeof(long) ? TensorElementType.Int64
            : typeof(T) == typeof(int) ? TensorElementType.Int32
            : throw new NotSupportedException($"Tensors of {typeof(T).Name} are not supported.");
        var elements = shape.Aggregate(1L, (a, b) => a * b);
        if (elements != data.Length)
        {
            throw new ArgumentException($"Shape [{string.Join(", ", shape)}] holds {elements} elements, but the memory holds {data.Length}.", nameof(shape));
        }
        var pin = data.Pin();
        try
        {
            return new OrtValue(OrtApi.CreateTensorWithData(OrtEnv.CpuMemory, pin.Pointer, (nuint)(data.Length * sizeof(T)), shape, type), pin);
        }
        catch
        {
            pin.Dispose();
            throw;
        }
    }

    /// <summary>The tensor's element type and shape.</summary>
    public (TensorElementType ElementType, long[] Shape) GetTensorTypeAndShape() => OrtApi.ValueTypeAndShape(Handle);

    /// <summary>The tensor's elements, in place (valid while this value lives).</summary>
    public unsafe Span<T> GetTensorMutableDataAsSpan<T>() where T : unmanaged
    {
        var (_, shape) = GetTensorTypeAndShape();
        return new Span<T>(OrtApi.GetTensorData(Handle), (int)shape.Aggregate(1L, (a, b) => a * b));
    }

    /// <summary>The tensor's elements, read-only.</summary>
    public ReadOnlySpan<T> GetTensorDataAsSpan<T>() where T : unmanaged => GetTensorMutableDataAsSpan<T>();

    /// <inheritdoc />
    public void Dispose()
    {
        _handle.Dispose();
        _pin.Dispose();
        _pin = default;
    }
}
