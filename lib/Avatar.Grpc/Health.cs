using System.Collections.Concurrent;
using Avatar.Grpc.Health;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Avatar.Grpc;

/// <summary>Serving states of the standard health service.</summary>
public enum HealthStatus
{
    /// <summary>Ready.</summary>
    Serving = 1,
    /// <summary>Up, but not serving.</summary>
    NotServing = 2,
}

/// <summary>
/// The standard grpc.health.v1.Health service (Check and Watch), as Grpc.HealthCheck provides: "" is the whole server;
/// services report their own state with <see cref="SetStatus"/>.
/// </summary>
public sealed class HealthServiceImpl
{
    private static readonly Marshaller<HealthCheckRequest> s_request = Marshallers.Protobuf(HealthCheckRequest.Parser);
    private static readonly Marshaller<HealthCheckResponse> s_response = Marshallers.Protobuf(HealthCheckResponse.Parser);

    /// <summary>grpc.health.v1.Health/Check.</summary>
    internal static readonly Method<HealthCheckRequest, HealthCheckResponse> CheckMethod = new(MethodType.Unary, "grpc.health.v1.Health", "Check", s_request, s_response);

    /// <summary>grpc.health.v1.Health/Watch.</summary>
    internal static readonly Method<HealthCheckRequest, HealthCheckResponse> WatchMethod = new(MethodType.ServerStreaming, "grpc.health.v1.Health", "Watch", s_request, s_response);

    private readonly ConcurrentDictionary<string, HealthStatus> _statuses = new() { [""] = HealthStatus.Serving };
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Sets a service's state ("" for the whole server); watchers are told.</summary>
    public void SetStatus(string service, HealthStatus status)
    {
        _statuses[service] = status;
        Interlocked.Exchange(ref _changed, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    internal ServiceDefinition Definition() => new ServiceDefinitionBuilder()
        .AddUnary(CheckMethod, (request, _) => Task.FromResult(_statuses.TryGetValue(request.Service, out var status)
            ? new HealthCheckResponse { Status = (HealthCheckResponse.Types.ServingStatus)status }
            : throw new RpcException(StatusCode.NotFound, $"Unknown service '{request.Service}'.")))
        .AddServerStreaming(WatchMethod, async (request, writer, call) =>
        {
            HealthCheckResponse.Types.ServingStatus? last = null;
            while (!call.CancellationToken.IsCancellationRequested)
            {
                var changed = _changed.Task;
                var current = _statuses.TryGetValue(request.Service, out var status)
                    ? (HealthCheckResponse.Types.ServingStatus)status : HealthCheckResponse.Types.ServingStatus.ServiceUnknown;
                if (current != last)
                {
                    await writer.WriteAsync(new HealthCheckResponse { Status = current }).ConfigureAwait(false);
                    last = current;
                }
                await changed.WaitAsync(call.CancellationToken).ConfigureAwait(false);
            }
        })
        .Build();
}

/// <summary>Mapping of the health service.</summary>
public static class HealthEndpointExtensions
{
    /// <summary>Maps grpc.health.v1.Health (register with AddGrpc first).</summary>
    public static IEndpointRouteBuilder MapGrpcHealthChecksService(this IEndpointRouteBuilder app) =>
        app.MapGrpcService(app.ServiceProvider.GetRequiredService<HealthServiceImpl>().Definition());
}
