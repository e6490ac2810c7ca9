using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Avatar.Tests.Grpc;

/// <summary>Our server, Grpc.AspNetCore on Kestrel, answering @grpc/grpc-js: every scenario of peer/client.js, run once.</summary>
public sealed class GrpcJsClientFixture : IAsyncLifetime
{
    private WebApplication _server = null!;

    public Dictionary<string, JsonObject> Results { get; } = [];

    public string Errors { get; private set; } = "";

    public async Task InitializeAsync()
    {
        _server = await EchoService.StartServerAsync();
        var port = new Uri(_server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
        using var client = NodePeer.Start("client.js", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var output = client.StandardOutput.ReadToEndAsync();
        Errors = await client.StandardError.ReadToEndAsync();
        await client.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        foreach (var line in (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var result = JsonNode.Parse(line)!.AsObject();
            Results[result["scenario"]!.GetValue<string>()] = result;
        }
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();
}

public sealed class GrpcJsClientTests(GrpcJsClientFixture peer) : IClassFixture<GrpcJsClientFixture>
{
    private JsonObject Result(string scenario) =>
        peer.Results.TryGetValue(scenario, out var result) ? result : throw new Xunit.Sdk.XunitException($"grpc-js did not report '{scenario}': {peer.Errors}");

    [Fact]
    public void AUnaryCallRoundTrips() => Assert.Equal("hello", Result("unary")["text"]!.GetValue<string>());

    [Fact]
    public void AnErrorStatusArrivesWithItsCodeAndUtf8Message()
    {
        Assert.Equal(5, Result("unary-error")["code"]!.GetValue<int>());
        Assert.Equal("failed: boom é", Result("unary-error")["details"]!.GetValue<string>());
    }

    [Fact]
    public void ThePassedDeadlineEndsTheCallWithDeadlineExceeded() => Assert.Equal(4, Result("deadline")["code"]!.GetValue<int>());

    [Fact]
    public void ALargeMessageGoesThroughAndOneOverTheLimitIsResourceExhausted()
    {
        Assert.Equal(3 * 1024 * 1024, Result("large")["length"]!.GetValue<int>());
        Assert.Equal(8, Result("too-large")["code"]!.GetValue<int>());
    }

    [Fact]
    public void GzipCompressedMessagesAreAccepted()
    {
        Assert.Equal("zipped", Result("gzip")["text"]?.GetValue<string>());
        Assert.Equal(100000, Result("gzip")["length"]!.GetValue<int>());
    }

    [Fact]
    public void MetadataGoesInAndComesBackAsATrailer() => Assert.Equal("echoed value", Result("metadata")["trailer"]?.GetValue<string>());

    [Fact]
    public void ClientStreamingCollectsEveryMessage()
    {
        Assert.Equal("a,b,c", Result("client-stream")["text"]!.GetValue<string>());
        Assert.Equal(3, Result("client-stream")["index"]!.GetValue<int>());
    }

    [Fact]
    public void ServerStreamingDeliversEveryMessageInOrderAndThenItsStatus()
    {
        Assert.Equal([0, 1, 2, 3, 4], Result("server-stream")["indexes"]!.AsArray().Select(i => i!.GetValue<int>()));
        Assert.Equal([0, 1], Result("server-stream-error")["got"]!.AsArray().Select(i => i!.GetValue<int>()));
        Assert.Equal(9, Result("server-stream-error")["code"]!.GetValue<int>());
    }

    [Fact]
    public void DuplexStreamingAnswersEachMessage() =>
        Assert.Equal(["ONE", "TWO", "THREE"], Result("duplex")["texts"]!.AsArray().Select(t => t!.GetValue<string>()));

    [Fact]
    public void AClientCancellationEndsTheStream()
    {
        Assert.Equal(1, Result("cancel")["code"]!.GetValue<int>());
        Assert.Equal(2, Result("cancel")["got"]!.GetValue<int>());
    }

    [Fact]
    public void ThreeHundredConcurrentStreamsAllComplete() => Assert.Equal(300, Result("concurrent")["complete"]!.GetValue<int>());

    [Fact]
    public void AnUnknownMethodIsUnimplemented() => Assert.Equal(12, Result("unimplemented")["code"]!.GetValue<int>());

    [Fact]
    public void TheStandardHealthServiceAnswersServing() =>
        Assert.Equal([8, 1], Result("health")["bytes"]!.AsArray().Select(b => b!.GetValue<int>()));
}
