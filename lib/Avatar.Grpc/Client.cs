using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using System.Threading.Channels;

namespace Avatar.Grpc;

/// <summary>Client settings, as Grpc.Net.Client's GrpcChannelOptions.</summary>
public sealed class GrpcChannelOptions
{
    /// <summary>Largest message the client accepts (default 4 MiB).</summary>
    public int MaxReceiveMessageSize { get; set; } = 4 * 1024 * 1024;

    /// <summary>Largest message the client sends (default unlimited).</summary>
    public int MaxSendMessageSize { get; set; } = int.MaxValue;

    /// <summary>The handler to send with; by default a SocketsHttpHandler that multiplexes calls over HTTP/2 connections.</summary>
    public HttpMessageHandler? HttpHandler { get; set; }
}

/// <summary>
/// A connection to a gRPC server over HTTP/2 without TLS (h2c, prior knowledge): many concurrent calls share one
/// connection (more are opened past the server's stream limit). Make one per server and keep it.
/// </summary>
public sealed class GrpcChannel : IDisposable
{
    private readonly HttpMessageInvoker _invoker;
    private readonly GrpcChannelOptions _options;

    private GrpcChannel(Uri address, GrpcChannelOptions options)
    {
        Address = address;
        _options = options;
        _invoker = new HttpMessageInvoker(options.HttpHandler ?? new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = TimeSpan.FromSeconds(60),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
        }, disposeHandler: true);
    }

    /// <summary>The server's address.</summary>
    public Uri Address { get; }

    /// <summary>A channel to "http://host:port".</summary>
    public static GrpcChannel ForAddress(string address, GrpcChannelOptions? options = null) => new(new Uri(address), options ?? new GrpcChannelOptions());

    /// <summary>A channel to a URI.</summary>
    public static GrpcChannel ForAddress(Uri address, GrpcChannelOptions? options = null) => new(address, options ?? new GrpcChannelOptions());

    /// <summary>One request, one response.</summary>
    public async Task<TResponse> UnaryAsync<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, CallOptions options = default)
    {
        await using var call = Start(method, options, Framing.Frame(Serialize(method.RequestMarshaller, request)));
        return await call.ReadSingleAsync().ConfigureAwait(false);
    }

    /// <summary>One request, a stream of responses.</summary>
    public ServerStreamingCall<TResponse> ServerStreaming<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, CallOptions options = default)
    {
        var call = Start(method, options, Framing.Frame(Serialize(method.RequestMarshaller, request)));
        return new(call, call.ReadAsync, call.ResponseHeaders, call.Trailers);
    }

    /// <summary>A stream of requests, one response.</summary>
    public ClientStreamingCall<TRequest, TResponse> ClientStreaming<TRequest, TResponse>(Method<TRequest, TResponse> method, CallOptions options = default)
    {
        var call = Start(method, options, null);
        return new ClientStreamingCall<TRequest, TResponse>(call);
    }

    /// <summary>Streams both ways.</summary>
    public DuplexStreamingCall<TRequest, TResponse> DuplexStreaming<TRequest, TResponse>(Method<TRequest, TResponse> method, CallOptions options = default) =>
        new(Start(method, options, null));

    private ClientCall<TRequest, TResponse> Start<TRequest, TResponse>(Method<TRequest, TResponse> method, CallOptions options, byte[]? singleRequest)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Address, method.FullName))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.TryAddWithoutValidation("te", "trailers");
        request.Headers.TryAddWithoutValidation("grpc-accept-encoding", "identity,gzip");
        if (options.Deadline is { } deadline)
        {
            request.Headers.TryAddWithoutValidation("grpc-timeout", Framing.FormatTimeout(deadline - DateTime.UtcNow));
        }
        foreach (var entry in options.Headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(entry.Key, options.Headers!.Encode(entry));
        }
        var call = new ClientCall<TRequest, TResponse>(method, _options, options);
        request.Content = singleRequest is null ? new StreamingContent(call.Outgoing.Reader) : new ByteArrayContent(singleRequest);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        call.Start(_invoker, request);
        return call;
    }

    private static byte[] Serialize<T>(Marshaller<T> marshaller, T message) => marshaller.Serializer(message);

    /// <inheritdoc />
    public void Dispose() => _invoker.Dispose();

    /// <summary>A request body written as the caller writes messages; ends when the caller completes.</summary>
    private sealed class StreamingContent(ChannelReader<byte[]> frames) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await foreach (var frame in frames.ReadAllAsync().ConfigureAwait(false))
            {
                await stream.WriteAsync(frame).ConfigureAwait(false);
                await stream.FlushAsync().ConfigureAwait(false);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

/// <summary>One call in flight: sends the request, reads frames, and turns the trailers into a status.</summary>
internal sealed class ClientCall<TRequest, TResponse>(Method<TRequest, TResponse> method, GrpcChannelOptions channelOptions, CallOptions options) : IAsyncDisposable
{
    private readonly CancellationTokenSource _cancellation = CancellationTokenSource.CreateLinkedTokenSource(options.CancellationToken);
    private Task<HttpResponseMessage> _response = null!;
    private PipeReader? _body;
    private HttpResponseMessage? _message;

    public Channel<byte[]> Outgoing { get; } = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(64) { SingleReader = true });

    public Metadata ResponseHeaders { get; } = [];

    public Metadata Trailers { get; } = [];

    public void Start(HttpMessageInvoker invoker, HttpRequestMessage request)
    {
        if (options.Deadline is { } deadline)
        {
            _cancellation.CancelAfter(deadline - DateTime.UtcNow is { Ticks: > 0 } left ? left : TimeSpan.Zero);
        }
        _response = invoker.SendAsync(request, _cancellation.Token);
    }

    public async Task WriteAsync(TRequest message, CancellationToken cancellationToken)
    {
        var bytes = method.RequestMarshaller.Serializer(message);
        if (bytes.Length > channelOptions.MaxSendMessageSize)
        {
            throw new RpcException(StatusCode.ResourceExhausted, $"Sending message exceeds the maximum configured message size ({bytes.Length} vs. {channelOptions.MaxSendMessageSize})");
        }
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cancellation.Token);
        try
        {
            await Outgoing.Writer.WriteAsync(Framing.Frame(bytes), linked.Token).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException("The request stream is already complete.");
        }
    }

    public Task CompleteAsync()
    {
        Outgoing.Writer.TryComplete();
        return Task.CompletedTask;
    }

    /// <summary>The next response message, or null at the end (after which the status has been checked).</summary>
    public async Task<TResponse?> ReadAsync(CancellationToken cancellationToken)
    {
        var body = await BodyAsync().ConfigureAwait(false);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cancellation.Token);
        byte[]? message;
        try
        {
            message = await Framing.ReadAsync(body, channelOptions.MaxReceiveMessageSize,
                _message!.Headers.TryGetValues("grpc-encoding", out var e) ? e.FirstOrDefault() : null, linked.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException)
        {
            throw Failure(ex);
        }
        if (message is null)
        {
            CheckStatus();
            return default;
        }
        return method.ResponseMarshaller.Deserializer(message);
    }

    public async Task<TResponse> ReadSingleAsync()
    {
        var response = await ReadAsync(CancellationToken.None).ConfigureAwait(false);
        if (response is null)
        {
            throw new RpcException(StatusCode.Internal, "The server sent no response message.");
        }
        // Drain to the trailers, which carry the status.
        if (await ReadAsync(CancellationToken.None).ConfigureAwait(false) is not null)
        {
            throw new RpcException(StatusCode.Internal, "The server sent more than one response message to a unary call.");
        }
        return response;
    }

    private async Task<PipeReader> BodyAsync()
    {
        if (_body is not null)
        {
            return _body;
        }
        try
        {
            _message = await _response.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            throw Failure(ex);
        }
        foreach (var header in _message.Headers.Where(h => !Metadata.IsReserved(h.Key)))
        {
            foreach (var value in header.Value)
            {
                ResponseHeaders.Add(Metadata.Decode(header.Key, value));
            }
        }
        // A trailers-only response (an immediate error) carries grpc-status in the headers.
        if (_message.Headers.Contains("grpc-status"))
        {
            CheckStatus(_message.Headers);
        }
        if (_message.StatusCode != HttpStatusCode.OK)
        {
            throw new RpcException(_message.StatusCode switch
            {
                HttpStatusCode.BadRequest => StatusCode.Internal,
                HttpStatusCode.Unauthorized => StatusCode.Unauthenticated,
                HttpStatusCode.Forbidden => StatusCode.PermissionDenied,
                HttpStatusCode.NotFound => StatusCode.Unimplemented,
                HttpStatusCode.TooManyRequests or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout => StatusCode.Unavailable,
                _ => StatusCode.Unknown,
            }, $"Bad gRPC response. HTTP status code: {(int)_message.StatusCode}");
        }
        _body = PipeReader.Create(await _message.Content.ReadAsStreamAsync(_cancellation.Token).ConfigureAwait(false));
        return _body;
    }

    private void CheckStatus(HttpHeaders? headers = null)
    {
        headers ??= _message!.TrailingHeaders;
        foreach (var header in headers.Where(h => !Metadata.IsReserved(h.Key)))
        {
            foreach (var value in header.Value)
            {
                Trailers.Add(Metadata.Decode(header.Key, value));
            }
        }
        var code = headers.TryGetValues("grpc-status", out var codes) && int.TryParse(codes.FirstOrDefault(), out var c) ? (StatusCode)c
            : throw new RpcException(StatusCode.Internal, "The response ended without a grpc-status.");
        if (code != StatusCode.OK)
        {
            var detail = Framing.DecodeMessage(headers.TryGetValues("grpc-message", out var messages) ? messages.FirstOrDefault() : null);
            throw new RpcException(new Status(code, detail), Trailers);
        }
    }

    private RpcException Failure(Exception ex) =>
        options.CancellationToken.IsCancellationRequested ? new RpcException(StatusCode.Cancelled, "Call canceled by the client.")
        : _cancellation.IsCancellationRequested ? new RpcException(StatusCode.DeadlineExceeded, "Deadline Exceeded")
        : new RpcException(StatusCode.Unavailable, $"Error connecting to subchannel: {ex.Message}");

    public async ValueTask DisposeAsync()
    {
        Outgoing.Writer.TryComplete();
        // Cancelling resets the HTTP/2 stream if the call is still open: the server sees the cancellation.
        await _cancellation.CancelAsync().ConfigureAwait(false);
        _message?.Dispose();
        _cancellation.Dispose();
    }
}

/// <summary>A call with a stream of responses.</summary>
public sealed class ServerStreamingCall<TResponse> : IAsyncDisposable
{
    private readonly IAsyncDisposable _call;

    internal ServerStreamingCall(IAsyncDisposable call, Func<CancellationToken, Task<TResponse?>> read, Metadata headers, Metadata trailers)
    {
        _call = call;
        ResponseStream = new ResponseReader<TResponse>(read);
        ResponseHeaders = headers;
        Trailers = trailers;
    }

    /// <summary>The responses.</summary>
    public IAsyncStreamReader<TResponse> ResponseStream { get; }

    /// <summary>The server's response headers (after the first read).</summary>
    public Metadata ResponseHeaders { get; }

    /// <summary>The server's trailers (after the last read).</summary>
    public Metadata Trailers { get; }

    /// <summary>Ends the call (cancels it if it is still running).</summary>
    public ValueTask DisposeAsync() => _call.DisposeAsync();
}

/// <summary>A call with a stream of requests and one response.</summary>
public sealed class ClientStreamingCall<TRequest, TResponse> : IAsyncDisposable
{
    private readonly ClientCall<TRequest, TResponse> _call;

    internal ClientStreamingCall(ClientCall<TRequest, TResponse> call)
    {
        _call = call;
        RequestStream = new RequestWriter<TRequest>(call.WriteAsync, call.CompleteAsync);
        ResponseAsync = Task.Run(call.ReadSingleAsync);
    }

    /// <summary>The requests: write them, then <see cref="IClientStreamWriter{T}.CompleteAsync"/>.</summary>
    public IClientStreamWriter<TRequest> RequestStream { get; }

    /// <summary>The response, once the server has answered.</summary>
    public Task<TResponse> ResponseAsync { get; }

    /// <summary>Ends the call (cancels it if it is still running).</summary>
    public ValueTask DisposeAsync() => _call.DisposeAsync();
}

/// <summary>A call streaming both ways.</summary>
public sealed class DuplexStreamingCall<TRequest, TResponse> : IAsyncDisposable
{
    private readonly ClientCall<TRequest, TResponse> _call;

    internal DuplexStreamingCall(ClientCall<TRequest, TResponse> call)
    {
        _call = call;
        RequestStream = new RequestWriter<TRequest>(call.WriteAsync, call.CompleteAsync);
        ResponseStream = new ResponseReader<TResponse>(call.ReadAsync);
    }

    /// <summary>The requests.</summary>
    public IClientStreamWriter<TRequest> RequestStream { get; }

    /// <summary>The responses.</summary>
    public IAsyncStreamReader<TResponse> ResponseStream { get; }

    /// <summary>The server's trailers (after the last read).</summary>
    public Metadata Trailers => _call.Trailers;

    /// <summary>Ends the call (cancels it if it is still running).</summary>
    public ValueTask DisposeAsync() => _call.DisposeAsync();
}

internal sealed class ResponseReader<T>(Func<CancellationToken, Task<T?>> read) : IAsyncStreamReader<T>
{
    public T Current { get; private set; } = default!;

    public async Task<bool> MoveNext(CancellationToken cancellationToken = default)
    {
        var next = await read(cancellationToken).ConfigureAwait(false);
        if (next is null)
        {
            return false;
        }
        Current = next;
        return true;
    }
}

internal sealed class RequestWriter<T>(Func<T, CancellationToken, Task> write, Func<Task> complete) : IClientStreamWriter<T>
{
    public Task WriteAsync(T message, CancellationToken cancellationToken = default) => write(message, cancellationToken);

    public Task CompleteAsync() => complete();
}
