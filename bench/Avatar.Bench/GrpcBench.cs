using System.Diagnostics;
using System.Globalization;
using System.Net;
using Avatar.Tests.Grpc.Echo;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Avatar.Bench;

/// <summary>
/// Grpc.AspNetCore's server against @grpc/grpc-js's server doing the same work (echo), both driven by the same
/// Grpc.Net.Client client in the same run: unary calls per second and server-streamed messages per second. Each server
/// is a process of its own, as the peer is, so neither shares the client's cores more than the other; the two are
/// measured in turns, several rounds, and each figure is the median of its rounds, so a burst of load from elsewhere on
/// the machine does not land on one server only.
/// </summary>
public static class GrpcBench
{
    /// <summary>The argument that runs this program as the benchmark's Grpc.AspNetCore server instead.</summary>
    public const string ServerMode = "grpc-server";

    private const int Rounds = 5;
    private const int Calls = 10_000;
    private const int Concurrency = 64;
    private const int StreamMessages = 100_000;

    public static async Task<IReadOnlyList<BenchResult>> RunAsync()
    {
        var root = BenchReport.RepositoryRoot();
        using var ours = StartServer("dotnet", [typeof(GrpcBench).Assembly.Location, ServerMode], AppContext.BaseDirectory, out var ourPort,
            // As the services run: the Web SDK turns server GC on.
            ("DOTNET_gcServer", "1"));
        using var peer = StartServer("node", ["server.js", "0"], Path.Combine(root, "Avatar.Tests", "Grpc", "peer"), out var peerPort);
        try
        {
            using var toOurs = GrpcChannel.ForAddress($"http://127.0.0.1:{ourPort}");
            using var toPeer = GrpcChannel.ForAddress($"http://127.0.0.1:{peerPort}");
            var ourClient = new Echo.EchoClient(toOurs);
            var peerClient = new Echo.EchoClient(toPeer);
            await UnaryAsync(ourClient, 2000);
            await UnaryAsync(peerClient, 2000);
            await StreamAsync(ourClient, 20_000);
            await StreamAsync(peerClient, 20_000);
            var (unaryOurs, unaryPeer, streamOurs, streamPeer) = (new List<double>(), new List<double>(), new List<double>(), new List<double>());
            for (var round = 0; round < Rounds; round++)
            {
                unaryOurs.Add(await UnaryAsync(ourClient, Calls));
                unaryPeer.Add(await UnaryAsync(peerClient, Calls));
                streamOurs.Add(await StreamAsync(ourClient, StreamMessages));
                streamPeer.Add(await StreamAsync(peerClient, StreamMessages));
            }
            return
            [
                BenchResult.Versus("grpc unary calls (64 concurrent)", "calls/s", Median(unaryOurs), "grpc-js server", Median(unaryPeer)),
                BenchResult.Versus("grpc server-streamed messages", "msgs/s", Median(streamOurs), "grpc-js server", Median(streamPeer)),
            ];
        }
        finally
        {
            Stop(ours);
            Stop(peer);
        }
    }

    /// <summary>Serves Echo on a free loopback port, prints "listening PORT" as the peer's server.js does, and runs until killed.</summary>
    public static async Task ServeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = Path.GetTempPath() });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        var app = builder.Build();
        app.MapGrpcService<EchoServer>();
        await app.StartAsync();
        Console.WriteLine($"listening {new Uri(app.Urls.First()).Port}");
        await app.WaitForShutdownAsync();
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

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static Process StartServer(string program, string[] args, string directory, out int port, params (string Name, string Value)[] environment)
    {
        var info = new ProcessStartInfo(program, args) { WorkingDirectory = directory, RedirectStandardOutput = true };
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }
        var process = Process.Start(info)!;
        var line = process.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"the {program} server did not start");
        port = int.Parse(line["listening ".Length..], CultureInfo.InvariantCulture);
        return process;
    }

    private static void Stop(Process process)
    {
        process.Kill(entireProcessTree: true);
        process.WaitForExit();
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
