using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using EchoClient = Avatar.Tests.Grpc.Echo.Echo.EchoClient;

namespace Avatar.Tests.Grpc;

/// <summary>A @grpc/grpc-js server (peer/server.js) for our client, Grpc.Net.Client.</summary>
public sealed class GrpcJsServerFixture : IAsyncLifetime
{
    private Process _server = null!;

    public Uri Address { get; private set; } = null!;

    public GrpcChannel Channel { get; private set; } = null!;

    public EchoClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _server = NodePeer.Start("server.js", "0");
        var line = await _server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        if (line?.StartsWith("listening ", StringComparison.Ordinal) != true)
        {
            throw new InvalidOperationException($"the grpc-js server did not start: {line} {await _server.StandardError.ReadToEndAsync()}");
        }
        Address = new Uri($"http://127.0.0.1:{line["listening ".Length..]}");
        Channel = GrpcChannel.ForAddress(Address, new GrpcChannelOptions { MaxReceiveMessageSize = 8 * 1024 * 1024 });
        Client = new EchoClient(Channel);
    }

    public async Task DisposeAsync()
    {
        Channel.Dispose();
        _server.Kill();
        await _server.WaitForExitAsync();
        _server.Dispose();
    }
}

public sealed class GrpcJsServerTests(GrpcJsServerFixture peer) : IClassFixture<GrpcJsServerFixture>
{
    [Fact]
    public async Task AUnaryCallRoundTripsWithMetadataBothWays()
    {
        var headers = new Metadata { { "x-echo", "hello there" } };

        var reply = await peer.Client.UnaryAsync(EchoService.Request("hello", payload: 10), headers);

        Assert.Equal("hello", reply.Text);
        Assert.Equal(10, reply.Payload.Length);
    }

    [Fact]
    public async Task AnErrorStatusBecomesAnRpcExceptionWithTheServersMessage()
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () => await peer.Client.UnaryAsync(EchoService.Request("boom", failCode: 7)));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Equal("failed: boom é", error.Status.Detail);
    }

    [Fact]
    public async Task ADeadlineEndsASlowCallWithDeadlineExceeded()
    {
        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await peer.Client.UnaryAsync(EchoService.Request("slow", delayMs: 3000), deadline: DateTime.UtcNow.AddMilliseconds(200)));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task ClientServerAndDuplexStreamingWork()
    {
        using (var upload = peer.Client.ClientStream())
        {
            foreach (var text in new[] { "x", "y", "z" })
            {
                await upload.RequestStream.WriteAsync(EchoService.Request(text));
            }
            await upload.RequestStream.CompleteAsync();
            Assert.Equal("x,y,z", (await upload.ResponseAsync).Text);
        }

        using (var download = peer.Client.ServerStream(EchoService.Request("s", repeat: 4)))
        {
            var indexes = new List<int>();
            await foreach (var reply in download.ResponseStream.ReadAllAsync())
            {
                indexes.Add(reply.Index);
            }
            Assert.Equal([0, 1, 2, 3], indexes);
        }

        using var chat = peer.Client.Duplex();
        await chat.RequestStream.WriteAsync(EchoService.Request("ping"));
        Assert.True(await chat.ResponseStream.MoveNext());
        Assert.Equal("PING", chat.ResponseStream.Current.Text); // answered before the stream is complete
        await chat.RequestStream.WriteAsync(EchoService.Request("pong"));
        await chat.RequestStream.CompleteAsync();
        Assert.True(await chat.ResponseStream.MoveNext());
        Assert.Equal("PONG", chat.ResponseStream.Current.Text);
        Assert.False(await chat.ResponseStream.MoveNext());
    }

    [Fact]
    public async Task AServerStreamErrorArrivesAfterItsMessages()
    {
        using var call = peer.Client.ServerStream(EchoService.Request("s", repeat: 2, failCode: 9));
        var got = 0;

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await call.ResponseStream.MoveNext())
            {
                got++;
            }
        });

        Assert.Equal(2, got);
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
    }

    [Fact]
    public async Task CancellingAStreamEndsItAsCancelled()
    {
        using var cancellation = new CancellationTokenSource();
        using var call = peer.Client.ServerStream(EchoService.Request("s", repeat: 100, delayMs: 50), cancellationToken: cancellation.Token);
        Assert.True(await call.ResponseStream.MoveNext());

        await cancellation.CancelAsync();
        var error = await Assert.ThrowsAsync<RpcException>(async () => { while (await call.ResponseStream.MoveNext()) { } });

        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
    }

    [Fact]
    public async Task LargeMessagesGoThroughAndOversizedRepliesAreRefused()
    {
        var reply = await peer.Client.UnaryAsync(EchoService.Request("big", payload: 3 * 1024 * 1024));
        Assert.Equal(3 * 1024 * 1024, reply.Payload.Length);

        using var strict = GrpcChannel.ForAddress(peer.Address, new GrpcChannelOptions { MaxReceiveMessageSize = 1024 });
        var error = await Assert.ThrowsAsync<RpcException>(async () => await new EchoClient(strict).UnaryAsync(EchoService.Request("big", payload: 4096)));
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact]
    public async Task HundredsOfConcurrentCallsShareTheChannel()
    {
        var replies = await Task.WhenAll(Enumerable.Range(0, 300).Select(i => peer.Client.UnaryAsync(EchoService.Request($"m{i}")).ResponseAsync));

        Assert.Equal(Enumerable.Range(0, 300).Select(i => $"m{i}"), replies.Select(r => r.Text));
    }

    [Fact]
    public async Task AServerThatIsNotThereIsUnavailable()
    {
        using var nowhere = GrpcChannel.ForAddress("http://127.0.0.1:1");

        var error = await Assert.ThrowsAsync<RpcException>(async () => await new EchoClient(nowhere).UnaryAsync(EchoService.Request("x")));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
    }
}
