using System.Net;
using Avatar.Grpc;
using Avatar.Tests.Grpc.Echo;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Avatar.Tests.Grpc;

/// <summary>The Echo service of echo.proto, on lib/Avatar.Grpc; and its methods, for our client.</summary>
public static class EchoService
{
    private static readonly Marshaller<EchoRequest> s_request = Marshallers.Protobuf(EchoRequest.Parser);
    private static readonly Marshaller<EchoReply> s_reply = Marshallers.Protobuf(EchoReply.Parser);

    public static readonly Method<EchoRequest, EchoReply> Unary = new(MethodType.Unary, "avatar.test.v1.Echo", "Unary", s_request, s_reply);
    public static readonly Method<EchoRequest, EchoReply> ClientStream = new(MethodType.ClientStreaming, "avatar.test.v1.Echo", "ClientStream", s_request, s_reply);
    public static readonly Method<EchoRequest, EchoReply> ServerStream = new(MethodType.ServerStreaming, "avatar.test.v1.Echo", "ServerStream", s_request, s_reply);
    public static readonly Method<EchoRequest, EchoReply> Duplex = new(MethodType.DuplexStreaming, "avatar.test.v1.Echo", "Duplex", s_request, s_reply);

    public static ServiceDefinition Definition() => new ServiceDefinitionBuilder()
        .AddUnary(Unary, async (request, call) =>
        {
            await Task.Delay(request.DelayMs, call.CancellationToken);
            Fail(request);
            if (call.RequestHeaders.GetValue("x-echo") is { } echo)
            {
                call.ResponseTrailers.Add("x-echo", echo);
            }
            return new EchoReply { Text = request.Text, Payload = request.Payload };
        })
        .AddClientStreaming(ClientStream, async (requests, call) =>
        {
            var texts = new List<string>();
            await foreach (var request in requests.ReadAllAsync(call.CancellationToken))
            {
                texts.Add(request.Text);
            }
            return new EchoReply { Text = string.Join(',', texts), Index = texts.Count };
        })
        .AddServerStreaming(ServerStream, async (request, responses, call) =>
        {
            for (var i = 0; i < request.Repeat; i++)
            {
                await Task.Delay(request.DelayMs, call.CancellationToken);
                await responses.WriteAsync(new EchoReply { Text = request.Text, Index = i });
            }
            Fail(request);
        })
        .AddDuplexStreaming(Duplex, async (requests, responses, call) =>
        {
            var i = 0;
            await foreach (var request in requests.ReadAllAsync(call.CancellationToken))
            {
                await responses.WriteAsync(new EchoReply { Text = request.Text.ToUpperInvariant(), Index = i++ });
            }
        })
        .Build();

    private static void Fail(EchoRequest request)
    {
        if (request.FailCode != 0)
        {
            throw new RpcException((StatusCode)request.FailCode, $"failed: {request.Text} é");
        }
    }

    /// <summary>Kestrel on a free loopback port, HTTP/2 only (h2c), serving Echo and grpc.health.v1.</summary>
    public static async Task<WebApplication> StartServerAsync()
    {
        var builder = TestWebHost.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddRouting();
        var app = builder.Build();
        app.MapGrpcService(Definition());
        app.MapGrpcHealthChecksService();
        await app.StartAsync();
        return app;
    }

    public static EchoRequest Request(string text, int repeat = 0, int delayMs = 0, int failCode = 0, int payload = 0) =>
        new() { Text = text, Repeat = repeat, DelayMs = delayMs, FailCode = failCode, Payload = ByteString.CopyFrom(new byte[payload]) };
}
