using System.Text;
using Google.Protobuf;

namespace Avatar.Grpc;

/// <summary>gRPC status codes.</summary>
public enum StatusCode
{
    /// <summary>Success.</summary>
    OK = 0,
    /// <summary>Cancelled by the caller.</summary>
    Cancelled = 1,
    /// <summary>Unknown error (an exception in a handler).</summary>
    Unknown = 2,
    /// <summary>The client sent something invalid.</summary>
    InvalidArgument = 3,
    /// <summary>The deadline passed.</summary>
    DeadlineExceeded = 4,
    /// <summary>Not found.</summary>
    NotFound = 5,
    /// <summary>Already exists.</summary>
    AlreadyExists = 6,
    /// <summary>Permission denied.</summary>
    PermissionDenied = 7,
    /// <summary>A limit was reached (message size, concurrent streams).</summary>
    ResourceExhausted = 8,
    /// <summary>The system is not in a state for this.</summary>
    FailedPrecondition = 9,
    /// <summary>Aborted.</summary>
    Aborted = 10,
    /// <summary>Out of range.</summary>
    OutOfRange = 11,
    /// <summary>No such method.</summary>
    Unimplemented = 12,
    /// <summary>An internal error (broken framing).</summary>
    Internal = 13,
    /// <summary>The service cannot be reached now.</summary>
    Unavailable = 14,
    /// <summary>Data loss.</summary>
    DataLoss = 15,
    /// <summary>No valid credentials.</summary>
    Unauthenticated = 16,
}

/// <summary>A call's outcome.</summary>
/// <param name="StatusCode">The code.</param>
/// <param name="Detail">A message for developers.</param>
public readonly record struct Status(StatusCode StatusCode, string Detail)
{
    /// <summary>Success.</summary>
    public static readonly Status DefaultSuccess = new(StatusCode.OK, "");
}

/// <summary>A call ended with a status other than OK.</summary>
public sealed class RpcException(Status status, Metadata? trailers = null) : Exception($"Status(StatusCode=\"{status.StatusCode}\", Detail=\"{status.Detail}\")")
{
    /// <summary>Creates the exception from a code and detail.</summary>
    public RpcException(StatusCode code, string detail) : this(new Status(code, detail))
    {
    }

    /// <summary>The status.</summary>
    public Status Status { get; } = status;

    /// <summary>The status code.</summary>
    public StatusCode StatusCode => Status.StatusCode;

    /// <summary>Trailers the server sent (or will send).</summary>
    public Metadata Trailers { get; } = trailers ?? [];
}

/// <summary>Headers or trailers: ASCII values, or binary values for keys ending in "-bin" (base64 on the wire).</summary>
public sealed class Metadata : List<Metadata.Entry>
{
    /// <summary>One header.</summary>
    /// <param name="Key">Lower-case key.</param>
    /// <param name="Value">Text value (null for binary entries).</param>
    /// <param name="ValueBytes">Binary value (keys ending in "-bin").</param>
    public sealed record Entry(string Key, string? Value, byte[]? ValueBytes)
    {
        /// <summary>True for "-bin" keys.</summary>
        public bool IsBinary => Key.EndsWith("-bin", StringComparison.Ordinal);
    }

    /// <summary>Adds a text entry.</summary>
    public void Add(string key, string value) => Add(new Entry(key.ToLowerInvariant(), value, null));

    /// <summary>Adds a binary entry (the key must end in "-bin").</summary>
    public void Add(string key, byte[] value) => Add(new Entry(key.ToLowerInvariant(), null, value));

    /// <summary>The first text value of a key, or null.</summary>
    public string? GetValue(string key) => this.FirstOrDefault(e => string.Equals(e.Key, key, StringComparison.OrdinalIgnoreCase))?.Value;

    /// <summary>The first binary value of a key, or null.</summary>
    public byte[]? GetValueBytes(string key) => this.FirstOrDefault(e => string.Equals(e.Key, key, StringComparison.OrdinalIgnoreCase))?.ValueBytes;

    internal static bool IsReserved(string key) =>
        key.StartsWith("grpc-", StringComparison.Ordinal) || key.StartsWith(':') || key is "content-type" or "te" or "user-agent"
            or "content-length" or "host" or "accept-encoding";

    internal string Encode(Entry entry) => entry.IsBinary ? Convert.ToBase64String(entry.ValueBytes ?? Encoding.UTF8.GetBytes(entry.Value ?? "")).TrimEnd('=') : entry.Value ?? "";

    internal static Entry Decode(string key, string value) =>
        key.EndsWith("-bin", StringComparison.Ordinal)
            ? new Entry(key, null, Convert.FromBase64String(value.PadRight(value.Length + ((4 - (value.Length % 4)) % 4), '=')))
            : new Entry(key, value, null);
}

/// <summary>The four kinds of calls.</summary>
public enum MethodType
{
    /// <summary>One request, one response.</summary>
    Unary,
    /// <summary>A stream of requests, one response.</summary>
    ClientStreaming,
    /// <summary>One request, a stream of responses.</summary>
    ServerStreaming,
    /// <summary>Streams both ways.</summary>
    DuplexStreaming,
}

/// <summary>Turns messages into bytes and back.</summary>
/// <param name="Serializer">Message to bytes.</param>
/// <param name="Deserializer">Bytes to message.</param>
public sealed record Marshaller<T>(Func<T, byte[]> Serializer, Func<byte[], T> Deserializer);

/// <summary>Marshallers for protobuf messages.</summary>
public static class Marshallers
{
    /// <summary>A marshaller for a generated protobuf message type.</summary>
    public static Marshaller<T> Protobuf<T>(MessageParser<T> parser) where T : IMessage<T> => new(m => m.ToByteArray(), parser.ParseFrom);
}

/// <summary>A method of a service: "/package.Service/Method", its kind and its marshallers.</summary>
/// <param name="Type">The kind of call.</param>
/// <param name="ServiceName">Full service name, e.g. "grpc.health.v1.Health".</param>
/// <param name="Name">Method name, e.g. "Check".</param>
/// <param name="RequestMarshaller">Request marshaller.</param>
/// <param name="ResponseMarshaller">Response marshaller.</param>
public sealed record Method<TRequest, TResponse>(MethodType Type, string ServiceName, string Name,
    Marshaller<TRequest> RequestMarshaller, Marshaller<TResponse> ResponseMarshaller)
{
    /// <summary>The HTTP/2 path: "/ServiceName/Name".</summary>
    public string FullName => $"/{ServiceName}/{Name}";
}

/// <summary>Per-call settings.</summary>
/// <param name="Headers">Request metadata.</param>
/// <param name="Deadline">When the call must be over (UTC).</param>
/// <param name="CancellationToken">Cancels the call (the server sees RST_STREAM).</param>
public readonly record struct CallOptions(Metadata? Headers = null, DateTime? Deadline = null, CancellationToken CancellationToken = default);

/// <summary>Reads a stream of messages.</summary>
public interface IAsyncStreamReader<out T>
{
    /// <summary>The message read by the last successful <see cref="MoveNext"/>.</summary>
    T Current { get; }

    /// <summary>Reads the next message; false at the end of the stream.</summary>
    Task<bool> MoveNext(CancellationToken cancellationToken = default);
}

/// <summary>Writes a stream of messages.</summary>
public interface IAsyncStreamWriter<in T>
{
    /// <summary>Writes one message.</summary>
    Task WriteAsync(T message, CancellationToken cancellationToken = default);
}

/// <summary>The client's request stream: write, then complete.</summary>
public interface IClientStreamWriter<in T> : IAsyncStreamWriter<T>
{
    /// <summary>Half-closes the stream: no more messages.</summary>
    Task CompleteAsync();
}

/// <summary>Helpers for stream readers.</summary>
public static class AsyncStreamReaderExtensions
{
    /// <summary>Every remaining message.</summary>
    public static async IAsyncEnumerable<T> ReadAllAsync<T>(this IAsyncStreamReader<T> reader,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await reader.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            yield return reader.Current;
        }
    }
}
