using System.Net;
using Avatar.Tests.Grpc.Echo;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace Avatar.Tests.Grpc;

/// <summary>The Echo service of echo.proto on Grpc.AspNetCore, as the peer's server.js implements it.</summary>
public sealed class EchoService : Echo.Echo.EchoBase
{
    public override async Task<EchoReply> Unary(EchoRequest request, ServerCallContext context)
    {
        await Task.Delay(request.DelayMs, context.CancellationToken);
        Fail(request);
        if (context.RequestHeaders.GetValue("x-echo") is { } echo)
        {
            context.ResponseTrailers.Add("x-echo", echo);
        }
        return new EchoReply { Text = request.Text, Payload = request.Payload };
    }

    public override async Task<EchoReply> ClientStream(IAsyncStreamReader<EchoRequest> requestStream, ServerCallContext context)
    {
        var texts = new List<string>();
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
        {
            texts.Add(request.Text);
        }
        return new EchoReply { Text = string.Join(',', texts), Index = texts.Count };
    }

    public override async Task ServerStream(EchoRequest request, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
    {
        for (var i = 0; i < request.Repeat; i++)
        {
            await Task.Delay(request.DelayMs, context.CancellationToken);
            await responseStream.WriteAsync(new EchoReply { Text = request.Text, Index = i }, context.CancellationToken);
        }
        Fail(request);
    }

    public override async Task Duplex(IAsyncStreamReader<EchoRequest> requestStream, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
    {
        var i = 0;
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
        {
            await responseStream.WriteAsync(new EchoReply { Text = request.Text.ToUpperInvariant(), Index = i++ }, context.CancellationToken);
        }
    }

    private static void Fail(EchoRequest request)
    {
        if (request.FailCode != 0)
        {
            throw new RpcException(new Status((StatusCode)request.FailCode, $"failed: {request.Text} é"));
        }
    }

    /// <summary>Kestrel on a free loopback port, HTTP/2 only (h2c), serving Echo and grpc.health.v1 with the packages' default limits.</summary>
    public static async Task<WebApplication> StartServerAsync()
    {
        var builder = TestWebHost.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        // As in every service (AddServiceDefaults): with no check at all, the gRPC health service answers UNKNOWN.
        builder.Services.AddGrpcHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy());
        var app = builder.Build();
        app.MapGrpcService<EchoService>();
        app.MapGrpcHealthChecksService();
        await app.StartAsync();
        return app;
    }

    public static EchoRequest Request(string text, int repeat = 0, int delayMs = 0, int failCode = 0, int payload = 0) =>
        new() { Text = text, Repeat = repeat, DelayMs = delayMs, FailCode = failCode, Payload = ByteString.CopyFrom(new byte[payload]) };
}
