using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;

namespace Avatar.A2F.Inference.LipSync;

/// <summary>
/// ONNX Runtime's own log, written to the service's log (and so to OpenTelemetry) instead of raw to stderr. Its errors
/// can also be kept for a while: when a CUDA library is missing, ONNX Runtime's exception only says that "a shared
/// library" failed to load, and the name of the missing one is in its log.
/// </summary>
internal static class OnnxRuntimeLog
{
    private static ILogger s_logger = NullLogger.Instance;

    [ThreadStatic] private static KeptErrors? t_keptErrors;

    /// <summary>
    /// Sends ONNX Runtime's log to <paramref name="logger"/>. ONNX Runtime takes a log function only when its environment
    /// is made, once per process on first use, so the service calls this before it loads the model; where something else
    /// used ONNX Runtime first, its log stays on stderr.
    /// </summary>
    public static void WriteTo(ILogger logger)
    {
        s_logger = logger;
        if (OrtEnv.IsCreated)
        {
            return;
        }
        var options = new EnvironmentCreationOptions
        {
            logId = "avatar",
            logLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING,
            loggingFunction = Write,
        };
        OrtEnv.CreateInstanceWithOptions(ref options);
    }

    /// <summary>
    /// Keeps ONNX Runtime's errors on this thread, rather than logging them, until the result is disposed (ONNX Runtime
    /// loads execution providers on the calling thread). Nothing is kept where its log goes elsewhere.
    /// </summary>
    public static KeptErrors KeepErrors() => t_keptErrors = new KeptErrors();

    private static void Write(nint param, OrtLoggingLevel severity, string category, string logId, string codeLocation, string message)
    {
        if (severity >= OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR && t_keptErrors is { } kept)
        {
            kept.Messages.Add(message);
            return;
        }
        var level = severity switch
        {
            OrtLoggingLevel.ORT_LOGGING_LEVEL_VERBOSE => LogLevel.Trace,
            OrtLoggingLevel.ORT_LOGGING_LEVEL_INFO => LogLevel.Debug,
            OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING => LogLevel.Warning,
            OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR => LogLevel.Error,
            _ => LogLevel.Critical,
        };
        s_logger.Log(level, "{Message} ({CodeLocation})", message, codeLocation);
    }

    /// <summary>ONNX Runtime's errors kept on one thread.</summary>
    public sealed class KeptErrors : IDisposable
    {
        /// <summary>The messages, oldest first.</summary>
        public List<string> Messages { get; } = [];

        /// <inheritdoc />
        public void Dispose() => t_keptErrors = null;
    }
}
