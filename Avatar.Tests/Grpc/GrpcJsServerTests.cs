using System.Diagnostics;
using Avatar.Grpc;

namespace Avatar.Tests.Grpc;

/// <summary>A @grpc/grpc-js server (peer/server.js) for our client.</summary>
public sealed class GrpcJsServerFixture : IAsyncLifetime
{
    private Process _server = null!;

    public GrpcChannel Channel { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _server = NodePeer.Start("server.js", "0");
        var line = await _server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        if (line?.StartsWith("listening ", StringComparison.Ordinal) != true)
        {
            throw new InvalidOperationException($"the grpc-js server did not start: {line} {await _server.StandardError.ReadToEndAsync()}");
        }
        Channel = GrpcChannel.ForAddress($"http://127.0.0.1:{line["listening ".Length..]}", new GrpcChannelOptions { MaxReceiveMessageSize = 8 * 1024 * 1024 });
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

        var reply = await peer.Channel.UnaryAsync(EchoService.Unary, EchoService.Request("hello", payload: 10), new CallOptions(headers));

        Assert.Equal("hello", reply.Text);
        Assert.Equal(10, reply.Payload.Length);
    }

    [Fact]
    public async Task AnErrorStatusBecomesAnRpcExceptionWithTheServersMessage()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => peer.Channel.UnaryAsync(EchoService.Unary, EchoService.Request("boom", failCode: 7)));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Equal("failed: boom é", error.Status.Detail);
    }

    [Fact]
    public async Task ADeadlineEndsASlowCallWithDeadlineExceeded()
    {
        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            peer.Channel.UnaryAsync(EchoService.Unary, EchoService.Request("slow", delayMs: 3000), new CallOptions(Deadline: DateTime.UtcNow.AddMilliseconds(200))));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task ClientServerAndDuplexStreamingWork()
    {
        await using (var upload = peer.Channel.ClientStreaming(EchoService.ClientStream))
        {
            foreach (var text in new[] { "x", "y", "z" })
            {
                await upload.RequestStream.WriteAsync(EchoService.Request(text));
            }
            await upload.RequestStream.CompleteAsync();
            Assert.Equal("x,y,z", (await upload.ResponseAsync).Text);
        }

        await using (var download = peer.Channel.ServerStreaming(EchoService.ServerStream, EchoService.Request("s", repeat: 4)))
        {
            var indexes = new List<int>();
            await foreach (var reply in download.ResponseStream.ReadAllAsync())
            {
                indexes.Add(reply.Index);
            }
            Assert.Equal([0, 1, 2, 3], indexes);
        }

        await using var chat = peer.Channel.DuplexStreaming(EchoService.Duplex);
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
        await using var call = peer.Channel.ServerStreaming(EchoService.ServerStream, EchoService.Request("s", repeat: 2, failCode: 9));
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
        await using var call = peer.Channel.ServerStreaming(EchoService.ServerStream, EchoService.Request("s", repeat: 100, delayMs: 50), new CallOptions(CancellationToken: cancellation.Token));
        Assert.True(await call.ResponseStream.MoveNext());

        await cancellation.CancelAsync();
        var error = await Assert.ThrowsAsync<RpcException>(async () => { while (await call.ResponseStream.MoveNext()) { } });

        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
    }

    [Fact]
    public async Task LargeMessagesGoThroughAndOversizedRepliesAreRefused()
    {
        var reply = await peer.Channel.UnaryAsync(EchoService.Unary, EchoService.Request("big", payload: 3 * 1024 * 1024));
        Assert.Equal(3 * 1024 * 1024, reply.Payload.Length);

        using var strict = GrpcChannel.ForAddress(peer.Channel.Address, new GrpcChannelOptions { MaxReceiveMessageSize = 1024 });
        var error = await Assert.ThrowsAsync<RpcException>(() => strict.UnaryAsync(EchoService.Unary, EchoService.Request("big", payload: 4096)));
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact]
    public async Task HundredsOfConcurrentCallsShareTheChannel()
    {
        var replies = await Task.WhenAll(Enumerable.Range(0, 300).Select(i => peer.Channel.UnaryAsync(EchoService.Unary, EchoService.Request($"m{i}"))));

        Assert.Equal(Enumerable.Range(0, 300).Select(i => $"m{i}"), replies.Select(r => r.Text));
    }

    [Fact]
    public async Task AServerThatIsNotThereIsUnavailable()
    {
        using var nowhere = GrpcChannel.ForAddress("http://127.0.0.1:1");

        var error = await Assert.ThrowsAsync<RpcException>(() => nowhere.UnaryAsync(EchoService.Unary, EchoService.Request("x")));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
    }
}
