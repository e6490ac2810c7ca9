using System.Reflection;
using System.Runtime.InteropServices;

namespace Avatar.Onnx;

/// <summary>
/// The ONNX Runtime C API: <c>OrtGetApiBase()</c> gives <c>GetApi(version)</c>, which gives the OrtApi struct, a table
/// of function pointers whose order is fixed by onnxruntime_c_api.h (new functions are only ever appended). Each slot
/// used here is named and numbered below.
/// </summary>
internal static unsafe class OrtApi
{
    private const string Library = "onnxruntime";

    /// <summary>The table layout these slots were read from (ORT_API_VERSION 13); newer libraries serve it unchanged.</summary>
    private const uint ApiVersion = 13;

    // Slot numbers in the OrtApi struct.
    private const int SlotGetErrorCode = 1;
    private const int SlotGetErrorMessage = 2;
    private const int SlotCreateEnv = 3;
    private const int SlotCreateSession = 7;
    private const int SlotCreateSessionFromArray = 8;
    private const int SlotRun = 9;
    private const int SlotCreateSessionOptions = 10;
    private const int SlotSetSessionGraphOptimizationLevel = 23;
    private const int SlotSetIntraOpNumThreads = 24;
    private const int SlotSetInterOpNumThreads = 25;
    private const int SlotSessionGetInputCount = 30;
    private const int SlotSessionGetOutputCount = 31;
    private const int SlotSessionGetInputTypeInfo = 33;
    private const int SlotSessionGetOutputTypeInfo = 34;
    private const int SlotSessionGetInputName = 36;
    private const int SlotSessionGetOutputName = 37;
    private const int SlotCreateTensorWithDataAsOrtValue = 49;
    private const int SlotGetTensorMutableData = 51;
    private const int SlotCastTypeInfoToTensorInfo = 55;
    private const int SlotGetTensorElementType = 60;
    private const int SlotGetDimensionsCount = 61;
    private const int SlotGetDimensions = 62;
    private const int SlotGetTensorTypeAndShape = 65;
    private const int SlotCreateCpuMemoryInfo = 69;
    private const int SlotAllocatorFree = 76;
    private const int SlotGetAllocatorWithDefaultOptions = 78;
    private const int SlotReleaseEnv = 92;
    private const int SlotReleaseStatus = 93;
    private const int SlotReleaseMemoryInfo = 94;
    private const int SlotReleaseSession = 95;
    private const int SlotReleaseValue = 96;
    private const int SlotReleaseTypeInfo = 98;
    private const int SlotReleaseTensorTypeAndShapeInfo = 99;
    private const int SlotReleaseSessionOptions = 100;

    private static readonly nint* s_api;

    static OrtApi()
    {
        NativeLibrary.SetDllImportResolver(typeof(OrtApi).Assembly, Resolve);
        OrtApiBase* baseApi;
        try
        {
            baseApi = OrtGetApiBase();
        }
        catch (DllNotFoundException ex)
        {
            throw new OnnxRuntimeException(OrtErrorCode.Fail,
                $"libonnxruntime.so.1 was not found next to the application or in .native/onnxruntime (build the project: it fetches it): {ex.Message}");
        }
        Version = Marshal.PtrToStringUTF8((nint)baseApi->GetVersionString())!;
        s_api = (nint*)baseApi->GetApi(ApiVersion);
        if (s_api is null)
        {
            throw new OnnxRuntimeException(OrtErrorCode.Fail, $"ONNX Runtime {Version} does not serve API version {ApiVersion}.");
        }
    }

    /// <summary>The native library's version, e.g. "1.30.0".</summary>
    public static string Version { get; }

    [StructLayout(LayoutKind.Sequential)]
    private struct OrtApiBase
    {
        public delegate* unmanaged<uint, void*> GetApi;
        public delegate* unmanaged<byte*> GetVersionString;
    }

    [DllImport(Library)]
    private static extern OrtApiBase* OrtGetApiBase();

    [DllImport(Library)]
    public static extern nint OrtSessionOptionsAppendExecutionProvider_CUDA(nint options, int deviceId);

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != Library)
        {
            return 0;
        }
        foreach (var candidate in Candidates())
        {
            if (File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out var handle))
            {
                return handle;
            }
        }
        return NativeLibrary.TryLoad("libonnxruntime.so.1", assembly, searchPath, out var fallback) ? fallback : 0;
    }

    private static IEnumerable<string> Candidates()
    {
        if (Environment.GetEnvironmentVariable("AVATAR_ONNXRUNTIME_LIBRARY") is { Length: > 0 } configured)
        {
            yield return configured;
        }
        yield return Path.Combine(AppContext.BaseDirectory, "libonnxruntime.so.1");
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            yield return Path.Combine(dir.FullName, ".native", "onnxruntime", "libonnxruntime.so.1");
        }
    }

    private static nint Slot(int index) => s_api[index];

    /// <summary>Throws the status as an exception (and releases it) when it is not success (null).</summary>
    public static void Check(nint status)
    {
        if (status == 0)
        {
            return;
        }
        var code = (OrtErrorCode)((delegate* unmanaged<nint, int>)Slot(SlotGetErrorCode))(status);
        var message = Marshal.PtrToStringUTF8(((delegate* unmanaged<nint, nint>)Slot(SlotGetErrorMessage))(status)) ?? "unknown error";
        ((delegate* unmanaged<nint, void>)Slot(SlotReleaseStatus))(status);
        throw new OnnxRuntimeException(code, message);
    }

    public static nint CreateEnv(int logLevel, string logId)
    {
        var id = Marshal.StringToCoTaskMemUTF8(logId);
        try
        {
            nint env;
            Check(((delegate* unmanaged<int, nint, nint*, nint>)Slot(SlotCreateEnv))(logLevel, id, &env));
            return env;
        }
        finally
        {
            Marshal.FreeCoTaskMem(id);
        }
    }

    public static nint CreateSession(nint env, string path, nint options)
    {
        var utf8 = Marshal.StringToCoTaskMemUTF8(path);
        try
        {
            nint session;
            Check(((delegate* unmanaged<nint, nint, nint, nint*, nint>)Slot(SlotCreateSession))(env, utf8, options, &session));
            return session;
        }
        finally
        {
            Marshal.FreeCoTaskMem(utf8);
        }
    }

    public static nint CreateSessionFromArray(nint env, ReadOnlySpan<byte> model, nint options)
    {
        nint session;
        fixed (byte* data = model)
        {
            Check(((delegate* unmanaged<nint, byte*, nuint, nint, nint*, nint>)Slot(SlotCreateSessionFromArray))(env, data, (nuint)model.Length, options, &session));
        }
        return session;
    }

    public static void Run(nint session, nint* inputNames, nint* inputs, nuint inputCount, nint* outputNames, nuint outputCount, nint* outputs) =>
        Check(((delegate* unmanaged<nint, nint, nint*, nint*, nuint, nint*, nuint, nint*, nint>)Slot(SlotRun))(
            session, 0, inputNames, inputs, inputCount, outputNames, outputCount, outputs));

    public static nint CreateSessionOptions()
    {
        nint options;
        Check(((delegate* unmanaged<nint*, nint>)Slot(SlotCreateSessionOptions))(&options));
        return options;
    }

    public static void SetGraphOptimizationLevel(nint options, int level) =>
        Check(((delegate* unmanaged<nint, int, nint>)Slot(SlotSetSessionGraphOptimizationLevel))(options, level));

    public static void SetIntraOpNumThreads(nint options, int threads) =>
        Check(((delegate* unmanaged<nint, int, nint>)Slot(SlotSetIntraOpNumThreads))(options, threads));

    public static void SetInterOpNumThreads(nint options, int threads) =>
        Check(((delegate* unmanaged<nint, int, nint>)Slot(SlotSetInterOpNumThreads))(options, threads));

    public static int SessionGetCount(nint session, bool inputs)
    {
        nuint count;
        Check(((delegate* unmanaged<nint, nuint*, nint>)Slot(inputs ? SlotSessionGetInputCount : SlotSessionGetOutputCount))(session, &count));
        return (int)count;
    }

    public static string SessionGetName(nint session, int index, bool input)
    {
        nint allocator;
        Check(((delegate* unmanaged<nint*, nint>)Slot(SlotGetAllocatorWithDefaultOptions))(&allocator));
        nint name;
        Check(((delegate* unmanaged<nint, nuint, nint, nint*, nint>)Slot(input ? SlotSessionGetInputName : SlotSessionGetOutputName))(session, (nuint)index, allocator, &name));
        try
        {
            return Marshal.PtrToStringUTF8(name)!;
        }
        finally
        {
            Check(((delegate* unmanaged<nint, nint, nint>)Slot(SlotAllocatorFree))(allocator, name));
        }
    }

    /// <summary>Element type and dimensions of a session input or output (-1 for a dynamic dimension).</summary>
    public static (TensorElementType Type, long[] Dimensions) SessionGetTypeInfo(nint session, int index, bool input)
    {
        nint typeInfo;
        Check(((delegate* unmanaged<nint, nuint, nint*, nint>)Slot(input ? SlotSessionGetInputTypeInfo : SlotSessionGetOutputTypeInfo))(session, (nuint)index, &typeInfo));
        try
        {
            nint tensorInfo;
            Check(((delegate* unmanaged<nint, nint*, nint>)Slot(SlotCastTypeInfoToTensorInfo))(typeInfo, &tensorInfo));
            return tensorInfo == 0 ? (TensorElementType.Undefined, []) : TypeAndShape(tensorInfo);
        }
        finally
        {
            ((delegate* unmanaged<nint, void>)Slot(SlotReleaseTypeInfo))(typeInfo);
        }
    }

    /// <summary>Element type and shape of a tensor value.</summary>
    public static (TensorElementType Type, long[] Dimensions) ValueTypeAndShape(nint value)
    {
        nint info;
        Check(((delegate* unmanaged<nint, nint*, nint>)Slot(SlotGetTensorTypeAndShape))(value, &info));
        try
        {
            return TypeAndShape(info);
        }
        finally
        {
            ((delegate* unmanaged<nint, void>)Slot(SlotReleaseTensorTypeAndShapeInfo))(info);
        }
    }

    private static (TensorElementType, long[]) TypeAndShape(nint tensorInfo)
    {
        int type;
        Check(((delegate* unmanaged<nint, int*, nint>)Slot(SlotGetTensorElementType))(tensorInfo, &type));
        nuint count;
        Check(((delegate* unmanaged<nint, nuint*, nint>)Slot(SlotGetDimensionsCount))(tensorInfo, &count));
        var dims = new long[(int)count];
        fixed (long* d = dims)
        {
            Check(((delegate* unmanaged<nint, long*, nuint, nint>)Slot(SlotGetDimensions))(tensorInfo, d, count));
        }
        return ((TensorElementType)type, dims);
    }

    public static nint CreateCpuMemoryInfo()
    {
        nint info;
        // OrtArenaAllocator (1), OrtMemTypeDefault (0).
        Check(((delegate* unmanaged<int, int, nint*, nint>)Slot(SlotCreateCpuMemoryInfo))(1, 0, &info));
        return info;
    }

    public static nint CreateTensorWithData(nint memoryInfo, void* data, nuint bytes, ReadOnlySpan<long> shape, TensorElementType type)
    {
        nint value;
        fixed (long* s = shape)
        {
            Check(((delegate* unmanaged<nint, void*, nuint, long*, nuint, int, nint*, nint>)Slot(SlotCreateTensorWithDataAsOrtValue))(
                memoryInfo, data, bytes, s, (nuint)shape.Length, (int)type, &value));
        }
        return value;
    }

    public static void* GetTensorData(nint value)
    {
        void* data;
        Check(((delegate* unmanaged<nint, void**, nint>)Slot(SlotGetTensorMutableData))(value, &data));
        return data;
    }

    public static void ReleaseEnv(nint handle) => ((delegate* unmanaged<nint, void>)Slot(SlotReleaseEnv))(handle);
    public static void ReleaseMemoryInfo(nint handle) => ((delegate* unmanaged<nint, void>)Slot(SlotReleaseMemoryInfo))(handle);
    public static void ReleaseSession(nint handle) => ((delegate* unmanaged<nint, void>)Slot(SlotReleaseSession))(handle);
    public static void ReleaseValue(nint handle) => ((delegate* unmanaged<nint, void>)Slot(SlotReleaseValue))(handle);
    public static void ReleaseSessionOptions(nint handle) => ((delegate* unmanaged<nint, void>)Slot(SlotReleaseSessionOptions))(handle);
}

/// <summary>ONNX Runtime's error codes.</summary>
public enum OrtErrorCode
{
    /// <summary>No error.</summary>
    Ok,
    /// <summary>General failure.</summary>
    Fail,
    /// <summary>An argument was wrong (names, shapes, types).</summary>
    InvalidArgument,
    /// <summary>No such file.</summary>
    NoSuchFile,
    /// <summary>No model.</summary>
    NoModel,
    /// <summary>Engine error.</summary>
    EngineError,
    /// <summary>Runtime exception.</summary>
    RuntimeException,
    /// <summary>The model is not valid protobuf.</summary>
    InvalidProtobuf,
    /// <summary>Model already loaded.</summary>
    ModelLoaded,
    /// <summary>Not implemented.</summary>
    NotImplemented,
    /// <summary>The graph is not valid.</summary>
    InvalidGraph,
    /// <summary>An execution provider failed.</summary>
    EpFail,
}

/// <summary>Element types of tensors (ONNX's TensorProto.DataType).</summary>
public enum TensorElementType
{
    /// <summary>Unknown.</summary>
    Undefined = 0,
    /// <summary>32-bit float.</summary>
    Float = 1,
    /// <summary>8-bit unsigned.</summary>
    UInt8 = 2,
    /// <summary>8-bit signed.</summary>
    Int8 = 3,
    /// <summary>32-bit signed.</summary>
    Int32 = 6,
    /// <summary>64-bit signed.</summary>
    Int64 = 7,
}

/// <summary>An error from ONNX Runtime, with its code and message.</summary>
/// <param name="code">ONNX Runtime's error code.</param>
/// <param name="message">ONNX Runtime's message.</param>
public sealed class OnnxRuntimeException(OrtErrorCode code, string message) : Exception($"[ONNXRuntimeError] {code}: {message}")
{
    /// <summary>ONNX Runtime's error code.</summary>
    public OrtErrorCode ErrorCode { get; } = code;
}
