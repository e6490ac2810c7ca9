using System.Diagnostics;
using System.Net;
using Avatar.Tests.Grpc.Echo;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Avatar.Bench;

/// <summary>
/// Grpc.AspNetCore's server against @grpc/grpc-js's server doing the same work (echo), both driven by the same
/// Grpc.Net.Client client in the same run: unary calls per second and server-streamed messages per second.
/// </summary>
public static class GrpcBench
{
    private const int Calls = 20_000;
    private const int Concurrency = 64;
    private const int StreamMessages = 200_000;

    public static async Task<IReadOnlyList<BenchResult>> RunAsync()
    {
        await using var ours = await StartOursAsync();
        var ourPort = new Uri(ours.Urls.First()).Port;
        using var peer = StartPeer(out var peerPort);
        try
        {
            using var toOurs = GrpcChannel.ForAddress($"http://127.0.0.1:{ourPort}");
            using var toPeer = GrpcChannel.ForAddress($"http://127.0.0.1:{peerPort}");
            var ourClient = new Echo.EchoClient(toOurs);
            var peerClient = new Echo.EchoClient(toPeer);
            await UnaryAsync(ourClient, 2000);
            await UnaryAsync(peerClient, 2000);
            var unaryOurs = await UnaryAsync(ourClient, Calls);
            var unaryPeer = await UnaryAsync(peerClient, Calls);
            await StreamAsync(ourClient, 20_000);
            await StreamAsync(peerClient, 20_000);
            var streamOurs = await StreamAsync(ourClient, StreamMessages);
            var streamPeer = await StreamAsync(peerClient, StreamMessages);
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

    private static async Task<double> UnaryAsync(Echo.EchoClient client, int count)
    {
        var next = -1;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) < count)
            {
                await client.UnaryAsync(new EchoRequest { Text = "hello" });
            }
        }));
        return count / watch.Elapsed.TotalSeconds;
    }

    private static async Task<double> StreamAsync(Echo.EchoClient client, int count)
    {
        var watch = Stopwatch.StartNew();
        using var call = client.ServerStream(new EchoRequest { Text = "frame", Repeat = count });
        var received = 0;
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
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
        var app = builder.Build();
        app.MapGrpcService<EchoServer>();
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

    /// <summary>The work peer/server.js does for the same calls.</summary>
    private sealed class EchoServer : Echo.EchoBase
    {
        public override Task<EchoReply> Unary(EchoRequest request, ServerCallContext context) => Task.FromResult(new EchoReply { Text = request.Text });

        public override async Task ServerStream(EchoRequest request, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
        {
            for (var i = 0; i < request.Repeat; i++)
            {
                await responseStream.WriteAsync(new EchoReply { Text = request.Text, Index = i });
            }
        }
    }
}
