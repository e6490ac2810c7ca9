using System.Diagnostics;
using System.Net;
using Avatar.Grpc;
using Avatar.Tests.Grpc.Echo;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Avatar.Bench;

/// <summary>
/// lib/Avatar.Grpc's server against @grpc/grpc-js's server doing the same work (echo), both driven by the same client
/// in the same run: unary calls per second and server-streamed messages per second.
/// </summary>
public static class GrpcBench
{
    private const int Calls = 20_000;
    private const int Concurrency = 64;
    private const int StreamMessages = 200_000;

    private static readonly Method<EchoRequest, EchoReply> s_unary = new(MethodType.Unary, "avatar.test.v1.Echo", "Unary",
        Marshallers.Protobuf(EchoRequest.Parser), Marshallers.Protobuf(EchoReply.Parser));
    private static readonly Method<EchoRequest, EchoReply> s_stream = new(MethodType.ServerStreaming, "avatar.test.v1.Echo", "ServerStream",
        Marshallers.Protobuf(EchoRequest.Parser), Marshallers.Protobuf(EchoReply.Parser));

    public static async Task<IReadOnlyList<BenchResult>> RunAsync()
    {
        await using var ours = await StartOursAsync();
        var ourPort = new Uri(ours.Urls.First()).Port;
        using var peer = StartPeer(out var peerPort);
        try
        {
            using var toOurs = GrpcChannel.ForAddress($"http://127.0.0.1:{ourPort}");
            using var toPeer = GrpcChannel.ForAddress($"http://127.0.0.1:{peerPort}");
            await UnaryAsync(toOurs, 2000);
            await UnaryAsync(toPeer, 2000);
            var unaryOurs = await UnaryAsync(toOurs, Calls);
            var unaryPeer = await UnaryAsync(toPeer, Calls);
            await StreamAsync(toOurs, 20_000);
            await StreamAsync(toPeer, 20_000);
            var streamOurs = await StreamAsync(toOurs, StreamMessages);
            var streamPeer = await StreamAsync(toPeer, StreamMessages);
            return
            [
                BenchResult.Versus("grpc unary calls (64 concurrent)", "calls/s", unaryOurs, "grpc-js server", unaryPeer),
                BenchResult.Versus("grpc server-streamed messages", "msgs/s", streamOurs, "grpc-js server", streamPeer),
            ];
        }
        finally
        {
            peer.Kill();
            await peer.WaitForExitAsync();
        }
    }

    private static async Task<double> UnaryAsync(GrpcChannel channel, int count)
    {
        var next = -1;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) < count)
            {
                await channel.UnaryAsync(s_unary, new EchoRequest { Text = "hello" });
            }
        }));
        return count / watch.Elapsed.TotalSeconds;
    }

    private static async Task<double> StreamAsync(GrpcChannel channel, int count)
    {
        var watch = Stopwatch.StartNew();
        await using var call = channel.ServerStreaming(s_stream, new EchoRequest { Text = "frame", Repeat = count });
        var received = 0;
        while (await call.ResponseStream.MoveNext())
        {
            received++;
        }
        return received / watch.Elapsed.TotalSeconds;
    }

    private static async Task<WebApplication> StartOursAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = Path.GetTempPath() });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddRouting();
        var app = builder.Build();
        app.MapGrpcService(new ServiceDefinitionBuilder()
            .AddUnary(s_unary, (request, _) => Task.FromResult(new EchoReply { Text = request.Text }))
            .AddServerStreaming(s_stream, async (request, responses, _) =>
            {
                for (var i = 0; i < request.Repeat; i++)
                {
                    await responses.WriteAsync(new EchoReply { Text = request.Text, Index = i });
                }
            })
            .Build());
        await app.StartAsync();
        return app;
    }

    private static Process StartPeer(out int port)
    {
        var directory = Path.Combine(BenchReport.RepositoryRoot(), "Avatar.Tests", "Grpc", "peer");
        var process = Process.Start(new ProcessStartInfo("node", ["server.js", "0"]) { WorkingDirectory = directory, RedirectStandardOutput = true })!;
        var line = process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("the grpc-js server did not start");
        port = int.Parse(line["listening ".Length..], System.Globalization.CultureInfo.InvariantCulture);
        return process;
    }
}
