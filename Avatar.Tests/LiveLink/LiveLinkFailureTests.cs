using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Avatar.Tests.LiveLink;

/// <summary>
/// What goes wrong outside the tool ends it with a message and an exit code, never a stack trace. A WebSocket that drops
/// or closes comes from a small server here: Chat itself closes only when it stops, which its fixture's other tests
/// could not share (the refusals Chat does send are tested against it in LiveLinkChatTests).
/// </summary>
public sealed class LiveLinkFailureTests
{
    private const string Session = "0199aaaa-0000-7000-8000-000000000001";

    [Fact]
    public async Task AHostThatDoesNotResolveIsNamedInTheMessage()
    {
        var (exitCode, log) = await LiveLinkPacketTests.RunToolAsync("--file", "speech.wav", "--host", "no-such-host.invalid");

        AssertFailed(exitCode, log, "--host no-such-host.invalid cannot be resolved");
    }

    [Fact]
    public async Task AnA2FControllerThatIsNotThereIsNamedInTheMessage()
    {
        var wav = Path.Combine(Path.GetTempPath(), $"livelink-{Guid.NewGuid():N}.wav");
        await File.WriteAllBytesAsync(wav, LiveLinkFileTests.Wav(new byte[32000], 16000));
        using var receiver = new LiveLinkReceiver();

        var (exitCode, log) = await LiveLinkPacketTests.RunToolAsync("--file", wav, "--port", $"{receiver.Port}", "--a2f", $"http://127.0.0.1:{ClosedPort()}", "--wav", wav + ".out");
        File.Delete(wav);
        File.Delete(wav + ".out");

        AssertFailed(exitCode, log, "Cannot reach the A2F controller at http://127.0.0.1:");
    }

    [Fact]
    public async Task AChatThatIsNotThereIsNamedInTheMessage()
    {
        var (exitCode, log) = await ConverseAsync($"ws://127.0.0.1:{ClosedPort()}");

        AssertFailed(exitCode, log, "Cannot connect to Chat at ws://127.0.0.1:");
    }

    [Fact]
    public async Task ADroppedWebSocketEndsTheToolWithAClearMessage()
    {
        await using var chat = await FakeChatAsync(async context =>
        {
            using var socket = await ReadyAsync(context);
            await Task.Delay(200);
            // The TCP connection goes without a close frame: a crashed server, a network gone.
            context.Abort();
        });

        var (exitCode, log) = await ConverseAsync(chat.Url, stdinOpenFor: TimeSpan.FromSeconds(10));

        AssertFailed(exitCode, log, "The connection to Chat dropped");
    }

    [Fact]
    public async Task AWebSocketClosedByTheServerEndsTheToolWithItsReason()
    {
        await using var chat = await FakeChatAsync(async context =>
        {
            using var socket = await ReadyAsync(context);
            await socket.CloseAsync(WebSocketCloseStatus.EndpointUnavailable, "chat is shutting down", CancellationToken.None);
        });

        var (exitCode, log) = await ConverseAsync(chat.Url, stdinOpenFor: TimeSpan.FromSeconds(10));

        AssertFailed(exitCode, log, "Chat closed the conversation (EndpointUnavailable: chat is shutting down)");
    }

    /// <summary>The tool ended as a failure outside it should end it: exit code 1, a message that says what, no stack trace.</summary>
    internal static void AssertFailed(int exitCode, string log, string message)
    {
        Assert.True(exitCode == 1, $"exit code {exitCode}: {log}");
        Assert.Contains(message, log);
        Assert.DoesNotContain("   at ", log);
    }

    /// <summary>The tool in conversation mode; its input stays open (nothing typed) for a while, as a user's would.</summary>
    internal static async Task<(int ExitCode, string Log)> ConverseAsync(string chat, TimeSpan? stdinOpenFor = null, string session = Session,
        string apiKey = "avk_test")
    {
        using var receiver = new LiveLinkReceiver();
        var log = new StringWriter();
        using var input = new SlowReader(stdinOpenFor ?? TimeSpan.Zero);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var exitCode = await Avatar.LiveLink.LiveLinkTool.RunAsync(
            ["--chat", chat, "--session", session, "--api-key", apiKey, "--port", $"{receiver.Port}", "--wav", Path.Combine(Path.GetTempPath(), $"livelink-{Guid.NewGuid():N}.wav")],
            input, TextWriter.Null, TextWriter.Synchronized(log), timeout.Token);
        return (exitCode, log.ToString());
    }

    private static async Task<WebSocket> ReadyAsync(HttpContext context)
    {
        var socket = await context.WebSockets.AcceptWebSocketAsync();
        await socket.SendAsync(Encoding.UTF8.GetBytes("""{"type":"ready","sessionId":"x","character":{"id":"y","name":"Iris","kind":"tarot"}}"""),
            WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        return socket;
    }

    private static async Task<FakeChat> FakeChatAsync(RequestDelegate handler)
    {
        var builder = TestWebHost.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.UseWebSockets();
        app.Run(handler);
        await app.StartAsync();
        return new FakeChat(app, app.Urls.First().Replace("http://", "ws://", StringComparison.Ordinal));
    }

    private static int ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed record FakeChat(WebApplication App, string Url) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => App.DisposeAsync();
    }

    /// <summary>Standard input with nothing typed, that ends after a while.</summary>
    private sealed class SlowReader(TimeSpan openFor) : TextReader
    {
        public override async ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken)
        {
            await Task.Delay(openFor, cancellationToken);
            return null;
        }
    }
}
