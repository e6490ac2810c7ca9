using System.IO.Pipelines;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Avatar.Grpc;

/// <summary>Server limits, as Grpc.AspNetCore's GrpcServiceOptions.</summary>
public sealed class GrpcServiceOptions
{
    /// <summary>Largest message a client may send (default 4 MiB); larger ones end the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageSize { get; set; } = 4 * 1024 * 1024;

    /// <summary>Largest message the server sends (default unlimited).</summary>
    public int MaxSendMessageSize { get; set; } = int.MaxValue;
}

/// <summary>What a handler knows about its call, as Grpc.Core's ServerCallContext.</summary>
public sealed class ServerCallContext
{
    private readonly HttpContext _http;

    internal ServerCallContext(HttpContext http, string method, DateTime deadline, CancellationToken cancellationToken)
    {
        _http = http;
        Method = method;
        Deadline = deadline;
        CancellationToken = cancellationToken;
        foreach (var (key, values) in http.Request.Headers)
        {
            if (!Metadata.IsReserved(key))
            {
                foreach (var value in values)
                {
                    RequestHeaders.Add(Metadata.Decode(key, value ?? ""));
                }
            }
        }
    }

    /// <summary>"/package.Service/Method".</summary>
    public string Method { get; }

    /// <summary>When the call must end (DateTime.MaxValue without a deadline).</summary>
    public DateTime Deadline { get; }

    /// <summary>Cancelled when the client cancels, disconnects, or the deadline passes.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>The client's metadata.</summary>
    public Metadata RequestHeaders { get; } = [];

    /// <summary>Metadata sent with the status at the end.</summary>
    public Metadata ResponseTrailers { get; } = [];

    /// <summary>The status sent at the end when the handler returns normally (OK unless set).</summary>
    public Status Status { get; set; } = Status.DefaultSuccess;

    /// <summary>The remote address, "ipv4:127.0.0.1:5000".</summary>
    public string Peer => $"ipv4:{_http.Connection.RemoteIpAddress}:{_http.Connection.RemotePort}";

    /// <summary>Sends response headers now (before the first message).</summary>
    public async Task WriteResponseHeadersAsync(Metadata headers)
    {
        foreach (var entry in headers)
        {
            _http.Response.Headers.Append(entry.Key, headers.Encode(entry));
        }
        await _http.Response.StartAsync(CancellationToken).ConfigureAwait(false);
    }
}

/// <summary>The request stream of a client- or duplex-streaming call.</summary>
internal sealed class ServerStreamReader<T>(PipeReader reader, Marshaller<T> marshaller, int maxSize, string? encoding, CancellationToken callToken)
    : IAsyncStreamReader<T>
{
    public T Current { get; private set; } = default!;

    public async Task<bool> MoveNext(CancellationToken cancellationToken = default)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(callToken, cancellationToken);
        var message = await Framing.ReadAsync(reader, maxSize, encoding, linked.Token).ConfigureAwait(false);
        if (message is null)
        {
            return false;
        }
        Current = Deserialize(marshaller, message);
        return true;
    }

    internal static TMessage Deserialize<TMessage>(Marshaller<TMessage> marshaller, byte[] message)
    {
        try
        {
            return marshaller.Deserializer(message);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw new RpcException(StatusCode.Internal, $"Failed to deserialize the request: {ex.Message}");
        }
    }
}

/// <summary>The response stream of a server- or duplex-streaming call.</summary>
internal sealed class ServerStreamWriter<T>(PipeWriter writer, Marshaller<T> marshaller, int maxSize, CancellationToken callToken) : IAsyncStreamWriter<T>
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public async Task WriteAsync(T message, CancellationToken cancellationToken = default)
    {
        // Writes from several tasks at once would interleave frames: one at a time.
        await _gate.WaitAsync(callToken).ConfigureAwait(false);
        try
        {
            await Framing.WriteAsync(writer, marshaller.Serializer(message), maxSize, callToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }
}

/// <summary>A service's methods bound to their handlers; built with <see cref="ServiceDefinitionBuilder"/>.</summary>
public sealed class ServiceDefinition
{
    internal List<(string Path, MethodType Type, Func<HttpContext, ServerCallContext, GrpcServiceOptions, Task> Handler)> Methods { get; } = [];
}

/// <summary>Binds methods to handlers: the registration protoc's C# gRPC plugin would generate.</summary>
public sealed class ServiceDefinitionBuilder
{
    private readonly ServiceDefinition _definition = new();

    /// <summary>One request, one response.</summary>
    public ServiceDefinitionBuilder AddUnary<TRequest, TResponse>(Method<TRequest, TResponse> method, Func<TRequest, ServerCallContext, Task<TResponse>> handler)
    {
        _definition.Methods.Add((method.FullName, MethodType.Unary, async (http, call, options) =>
        {
            var request = await ReadSingleAsync(http, method.RequestMarshaller, options, call.CancellationToken).ConfigureAwait(false);
            var response = await handler(request, call).ConfigureAwait(false);
            await Framing.WriteAsync(http.Response.BodyWriter, method.ResponseMarshaller.Serializer(response), options.MaxSendMessageSize, call.CancellationToken).ConfigureAwait(false);
        }));
        return this;
    }

    /// <summary>A stream of requests, one response.</summary>
    public ServiceDefinitionBuilder AddClientStreaming<TRequest, TResponse>(Method<TRequest, TResponse> method,
        Func<IAsyncStreamReader<TRequest>, ServerCallContext, Task<TResponse>> handler)
    {
        _definition.Methods.Add((method.FullName, MethodType.ClientStreaming, async (http, call, options) =>
        {
            var reader = new ServerStreamReader<TRequest>(http.Request.BodyReader, method.RequestMarshaller, options.MaxReceiveMessageSize, Encoding(http), call.CancellationToken);
            var response = await handler(reader, call).ConfigureAwait(false);
            await Framing.WriteAsync(http.Response.BodyWriter, method.ResponseMarshaller.Serializer(response), options.MaxSendMessageSize, call.CancellationToken).ConfigureAwait(false);
        }));
        return this;
    }

    /// <summary>One request, a stream of responses.</summary>
    public ServiceDefinitionBuilder AddServerStreaming<TRequest, TResponse>(Method<TRequest, TResponse> method,
        Func<TRequest, IAsyncStreamWriter<TResponse>, ServerCallContext, Task> handler)
    {
        _definition.Methods.Add((method.FullName, MethodType.ServerStreaming, async (http, call, options) =>
        {
            var request = await ReadSingleAsync(http, method.RequestMarshaller, options, call.CancellationToken).ConfigureAwait(false);
            await handler(request, new ServerStreamWriter<TResponse>(http.Response.BodyWriter, method.ResponseMarshaller, options.MaxSendMessageSize, call.CancellationToken), call).ConfigureAwait(false);
        }));
        return this;
    }

    /// <summary>Streams both ways.</summary>
    public ServiceDefinitionBuilder AddDuplexStreaming<TRequest, TResponse>(Method<TRequest, TResponse> method,
        Func<IAsyncStreamReader<TRequest>, IAsyncStreamWriter<TResponse>, ServerCallContext, Task> handler)
    {
        _definition.Methods.Add((method.FullName, MethodType.DuplexStreaming, async (http, call, options) =>
        {
            var reader = new ServerStreamReader<TRequest>(http.Request.BodyReader, method.RequestMarshaller, options.MaxReceiveMessageSize, Encoding(http), call.CancellationToken);
            // Headers go out at once, so a client waiting for them can start writing.
            await http.Response.StartAsync(call.CancellationToken).ConfigureAwait(false);
            await handler(reader, new ServerStreamWriter<TResponse>(http.Response.BodyWriter, method.ResponseMarshaller, options.MaxSendMessageSize, call.CancellationToken), call).ConfigureAwait(false);
        }));
        return this;
    }

    /// <summary>The definition to map with <see cref="GrpcEndpointRouteBuilderExtensions.MapGrpcService(IEndpointRouteBuilder, ServiceDefinition)"/>.</summary>
    public ServiceDefinition Build() => _definition;

    private static string? Encoding(HttpContext http) => http.Request.Headers["grpc-encoding"].FirstOrDefault();

    private static async Task<T> ReadSingleAsync<T>(HttpContext http, Marshaller<T> marshaller, GrpcServiceOptions options, CancellationToken cancellationToken)
    {
        var message = await Framing.ReadAsync(http.Request.BodyReader, options.MaxReceiveMessageSize, Encoding(http), cancellationToken).ConfigureAwait(false)
            ?? throw new RpcException(StatusCode.Internal, "The request has no message.");
        return ServerStreamReader<T>.Deserialize(marshaller, message);
    }
}

/// <summary>Registration and mapping, named as in Grpc.AspNetCore.</summary>
public static class GrpcEndpointRouteBuilderExtensions
{
    /// <summary>Registers the server options (and the health service's state).</summary>
    public static IServiceCollection AddGrpc(this IServiceCollection services, Action<GrpcServiceOptions>? configure = null)
    {
        services.AddOptions<GrpcServiceOptions>().Configure(o => configure?.Invoke(o));
        services.AddSingleton<HealthServiceImpl>();
        services.AddSingleton<UnimplementedRoute>();
        return services;
    }

    /// <summary>Whether the catch-all UNIMPLEMENTED route is mapped: once per application, however many services.</summary>
    internal sealed class UnimplementedRoute
    {
        public int Mapped;
    }

    /// <summary>Maps every method of a service as an HTTP/2 POST endpoint; unknown methods answer UNIMPLEMENTED.</summary>
    public static IEndpointRouteBuilder MapGrpcService(this IEndpointRouteBuilder app, ServiceDefinition service)
    {
        foreach (var (path, _, handler) in service.Methods)
        {
            app.MapPost(path, http => GrpcCall.HandleAsync(http, path, handler));
        }
        // Any other gRPC path: UNIMPLEMENTED, as gRPC requires, rather than a 404 a gRPC client cannot read.
        if (Interlocked.Exchange(ref app.ServiceProvider.GetRequiredService<UnimplementedRoute>().Mapped, 1) == 0)
        {
            app.MapPost("/{service}/{method}", http => GrpcCall.HandleAsync(http, http.Request.Path,
                (_, call, _) => throw new RpcException(StatusCode.Unimplemented, $"Method {call.Method} is not implemented.")))
                .WithOrder(int.MaxValue);
        }
        return app;
    }
}

/// <summary>Runs one call: content type, deadline, handler, status trailers.</summary>
internal static partial class GrpcCall
{
    public static async Task HandleAsync(HttpContext http, string method, Func<HttpContext, ServerCallContext, GrpcServiceOptions, Task> handler)
    {
        var options = http.RequestServices.GetRequiredService<IOptions<GrpcServiceOptions>>().Value;
        var logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Avatar.Grpc");
        if (http.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) != true)
        {
            http.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }
        http.Response.ContentType = "application/grpc";
        http.Response.Headers["grpc-accept-encoding"] = "identity,gzip";
        var timeout = Framing.ParseTimeout(http.Request.Headers["grpc-timeout"].FirstOrDefault());
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        if (timeout is { } t)
        {
            cancellation.CancelAfter(t);
        }
        var call = new ServerCallContext(http, method, timeout is { } d ? DateTime.UtcNow + d : DateTime.MaxValue, cancellation.Token);
        Status status;
        try
        {
            await handler(http, call, options).ConfigureAwait(false);
            status = call.Status;
        }
        catch (RpcException ex)
        {
            status = ex.Status;
            call.ResponseTrailers.AddRange(ex.Trailers);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            return; // The client cancelled or went away: nobody is left to receive a status.
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            status = new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded");
        }
        catch (Exception ex)
        {
            LogHandlerFailed(logger, ex, method);
            status = new Status(StatusCode.Unknown, "Exception was thrown by handler.");
        }
        if (http.RequestAborted.IsCancellationRequested)
        {
            return;
        }
        http.Response.AppendTrailer("grpc-status", ((int)status.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (status.Detail.Length > 0)
        {
            http.Response.AppendTrailer("grpc-message", Framing.EncodeMessage(status.Detail));
        }
        foreach (var entry in call.ResponseTrailers)
        {
            http.Response.AppendTrailer(entry.Key, call.ResponseTrailers.Encode(entry));
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "gRPC handler of {Method} threw")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception, string method);
}
