using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Avatar.A2F.Contracts;

/// <summary>
/// Answers bad input on A2F's streaming calls as A2F answers it, whatever the handler did: bytes that do not parse as
/// the call's message end it with INVALID_ARGUMENT and the parser's reason, not the UNKNOWN ("Exception was thrown by
/// handler") of an exception escaping the handler; and a status detail is cut short, since it may quote what the client
/// sent (an unknown name of any length) and travels in a trailer, which an HTTP/2 client refuses beyond its header
/// limit (64 KiB for .NET's) by failing every call on the connection.
/// </summary>
public sealed class BadInputInterceptor : Interceptor
{
    /// <summary>The longest status detail sent.</summary>
    public const int MaxDetailLength = 1024;

    /// <inheritdoc />
    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context);
        }
        catch (Exception e) when (Answer<TRequest>(e) is { } answer)
        {
            throw answer;
        }
    }

    /// <inheritdoc />
    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context);
        }
        catch (Exception e) when (Answer<TRequest>(e) is { } answer)
        {
            throw answer;
        }
    }

    private static RpcException? Answer<TRequest>(Exception e) => e switch
    {
        InvalidProtocolBufferException invalid => new(new Status(StatusCode.InvalidArgument, Cut($"A message is not a valid {typeof(TRequest).Name}: {invalid.Message}"))),
        RpcException { Status.Detail.Length: > MaxDetailLength } rpc => new(new Status(rpc.StatusCode, Cut(rpc.Status.Detail)), rpc.Trailers),
        _ => null,
    };

    private static string Cut(string detail) => detail.Length > MaxDetailLength ? detail[..(MaxDetailLength - 3)] + "..." : detail;
}
