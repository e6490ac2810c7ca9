using System.Text.Json;
using Avatar.Chat.Llm;
using Avatar.Chat.Speech;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Avatar.Tests.Chat;

/// <summary>
/// The network providers against local HTTP servers that speak each real protocol: OpenAI's and Anthropic's
/// streaming server-sent events, ElevenLabs' and OpenAI's raw PCM speech, their error bodies, rate limits and
/// streams that drop.
/// </summary>
public sealed class ProviderTests : IAsyncDisposable
{
    private WebApplication? _server;
    private readonly HttpClient _http = new();
    private string? _requestBody;
    private Dictionary<string, string>? _requestHeaders;

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    private async Task<string> ServeAsync(Func<HttpContext, Task> handler)
    {
        var builder = TestWebHost.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _server = builder.Build();
        _server.Run(async context =>
        {
            // A copy: Kestrel reuses the header collection once the request is over.
            _requestHeaders = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            _requestBody = await new StreamReader(context.Request.Body).ReadToEndAsync();
            await handler(context);
        });
        await _server.StartAsync();
        return _server.Urls.First();
    }

    /// <summary>Writes server-sent events one write (and flush) at a time, as a provider streams them.</summary>
    private static Func<HttpContext, Task> Events(params string[] pieces) => async context =>
    {
        context.Response.ContentType = "text/event-stream";
        foreach (var piece in pieces)
        {
            await context.Response.WriteAsync(piece);
            await context.Response.Body.FlushAsync();
        }
    };

    private static LlmRequest Request() => new([
        new LlmMessage(LlmRole.System, "You are Iris."),
        new LlmMessage(LlmRole.User, "Hello"),
        new LlmMessage(LlmRole.Assistant, "Hi!"),
        new LlmMessage(LlmRole.User, "Read my cards")]);

    private static async Task<List<string>> CollectAsync(IAsyncEnumerable<string> stream)
    {
        var pieces = new List<string>();
        await foreach (var piece in stream)
        {
            pieces.Add(piece);
        }
        return pieces;
    }

    private static async Task<byte[]> CollectAsync(IAsyncEnumerable<ReadOnlyMemory<byte>> stream, List<int>? sizes = null)
    {
        var all = new List<byte>();
        await foreach (var chunk in stream)
        {
            sizes?.Add(chunk.Length);
            all.AddRange(chunk.ToArray());
        }
        return [.. all];
    }

    private static string Chunk(string text) => $"data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":{JsonSerializer.Serialize(text)}}}}}]}}\n\n";

    [Fact]
    public async Task OpenAiClientStreamsTheDeltasUntilDoneAndSendsTheConversationInOrder()
    {
        var url = await ServeAsync(Events(
            ": keep-alive\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n",
            Chunk("The "), "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Tower", "\"}}]}\n\n", Chunk(" falls."),
            "data: [DONE]\n\n"));
        var client = new OpenAiChatClient(_http, new OpenAiChatOptions { BaseUrl = url + "/v1", ApiKey = "sk-test-123", Model = "gpt-test" });

        Assert.Equal(["The ", "Tower", " falls."], await CollectAsync(client.StreamAsync(Request(), CancellationToken.None)));
        Assert.Equal("Bearer sk-test-123", _requestHeaders!["Authorization"]);
        using var body = JsonDocument.Parse(_requestBody!);
        Assert.Equal("gpt-test", body.RootElement.GetProperty("model").GetString());
        Assert.True(body.RootElement.GetProperty("stream").GetBoolean());
        Assert.Equal(["system", "user", "assistant", "user"],
            body.RootElement.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("role").GetString()));
    }

    [Fact]
    public async Task OpenAiClientSendsNoKeyToAServerThatNeedsNone()
    {
        var url = await ServeAsync(Events(Chunk("ok"), "data: [DONE]\n\n"));
        var client = new OpenAiChatClient(_http, new OpenAiChatOptions { BaseUrl = url + "/v1" });

        Assert.Equal(["ok"], await CollectAsync(client.StreamAsync(Request(), CancellationToken.None)));
        Assert.False(_requestHeaders!.ContainsKey("Authorization"));
    }

    [Fact]
    public async Task OpenAiClientReportsARateLimitWithItsRetryAfterAndNeverTheKey()
    {
        var url = await ServeAsync(async context =>
        {
            context.Response.StatusCode = 429;
            context.Response.Headers.RetryAfter = "7";
            await context.Response.WriteAsync("{\"error\":{\"message\":\"Rate limit reached for gpt-test\",\"type\":\"requests\"}}");
        });
        var client = new OpenAiChatClient(_http, new OpenAiChatOptions { BaseUrl = url + "/v1", ApiKey = "sk-secret-999" });

        var error = await Assert.ThrowsAsync<LlmException>(() => CollectAsync(client.StreamAsync(Request(), CancellationToken.None)));
        Assert.Equal(429, error.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), error.RetryAfter);
        Assert.True(error.IsTransient);
        Assert.Contains("Rate limit reached", error.Message);
        Assert.DoesNotContain("sk-secret-999", error.ToString());
    }

    [Fact]
    public async Task OpenAiClientReportsAnInvalidKeyAsPermanent()
    {
        var url = await ServeAsync(async context =>
        {
            context.Response.StatusCode = 401;
            await context.Response.WriteAsync("{\"error\":{\"message\":\"Incorrect API key provided\"}}");
        });
        var client = new OpenAiChatClient(_http, new OpenAiChatOptions { BaseUrl = url + "/v1", ApiKey = "sk-wrong" });

        var error = await Assert.ThrowsAsync<LlmException>(() => CollectAsync(client.StreamAsync(Request(), CancellationToken.None)));
        Assert.Equal(401, error.StatusCode);
        Assert.False(error.IsTransient);
        Assert.DoesNotContain("sk-wrong", error.ToString());
    }

    [Fact]
    public async Task OpenAiClientReportsAStreamThatDropsBeforeDone()
    {
        var url = await ServeAsync(async context =>
        {
            await Events(Chunk("The "), Chunk("Tow"))(context);
            context.Abort();
        });
        var client = new OpenAiChatClient(_http, new OpenAiChatOptions { BaseUrl = url + "/v1" });
        var received = new List<string>();

        var error = await Assert.ThrowsAsync<LlmException>(async () =>
        {
            await foreach (var piece in client.StreamAsync(Request(), CancellationToken.None))
            {
                received.Add(piece);
            }
        });
        // The reset may overtake data still in flight: what arrived is a prefix of what was sent, never more.
        Assert.Equal(new[] { "The ", "Tow" }[..received.Count], received);
        Assert.Null(error.StatusCode);
        Assert.True(error.IsTransient);
    }

    [Fact]
    public async Task OpenAiClientReportsAnErrorEventAndAnEndWithoutDone()
    {
        var url = await ServeAsync(Events(Chunk("a"), "data: {\"error\":{\"message\":\"The server had an error\"}}\n\n"));
        var client = new OpenAiChatClient(_http, new OpenAiChatOptions { BaseUrl = url + "/v1" });
        Assert.Contains("The server had an error",
            (await Assert.ThrowsAsync<LlmException>(() => CollectAsync(client.StreamAsync(Request(), CancellationToken.None)))).Message);

        await _server!.DisposeAsync();
        url = await ServeAsync(Events(Chunk("a")));
        client = new OpenAiChatClient(_http, new OpenAiChatOptions { BaseUrl = url + "/v1" });
        Assert.Contains("before [DONE]",
            (await Assert.ThrowsAsync<LlmException>(() => CollectAsync(client.StreamAsync(Request(), CancellationToken.None)))).Message);
    }

    [Fact]
    public async Task CancellingStopsReadingAStreamThatNeverEnds()
    {
        var url = await ServeAsync(async context =>
        {
            await Events(Chunk("first"))(context);
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        });
        var client = new OpenAiChatClient(_http, new OpenAiChatOptions { BaseUrl = url + "/v1" });
        using var cancel = new CancellationTokenSource();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in client.StreamAsync(Request(), cancel.Token))
            {
                await cancel.CancelAsync();
            }
        });
    }

    [Fact]
    public async Task AnthropicClientPutsSystemMessagesInTheSystemFieldAndStreamsTextDeltas()
    {
        var url = await ServeAsync(Events(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"role\":\"assistant\",\"content\":[]}}\n\n",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
            "event: ping\ndata: {\"type\": \"ping\"}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"The Star\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" shines.\"}}\n\n",
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":4}}\n\n",
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
        var client = new AnthropicChatClient(_http, new AnthropicOptions { BaseUrl = url, ApiKey = "sk-ant-test", Model = "claude-test" });

        Assert.Equal(["The Star", " shines."], await CollectAsync(client.StreamAsync(Request(), CancellationToken.None)));
        Assert.Equal("sk-ant-test", _requestHeaders!["x-api-key"]);
        Assert.Equal("2023-06-01", _requestHeaders["anthropic-version"]);
        using var body = JsonDocument.Parse(_requestBody!);
        Assert.Equal("You are Iris.", body.RootElement.GetProperty("system").GetString());
        Assert.Equal(["user", "assistant", "user"], body.RootElement.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        Assert.Equal(400, body.RootElement.GetProperty("max_tokens").GetInt32());
    }

    [Fact]
    public async Task AnthropicClientReportsAnOverloadedErrorEventAsTransient()
    {
        var url = await ServeAsync(Events(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}\n\n",
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"));
        var client = new AnthropicChatClient(_http, new AnthropicOptions { BaseUrl = url, ApiKey = "sk-ant-test" });

        var error = await Assert.ThrowsAsync<LlmException>(() => CollectAsync(client.StreamAsync(Request(), CancellationToken.None)));
        Assert.Contains("Overloaded", error.Message);
        Assert.True(error.IsTransient);
    }

    [Fact]
    public async Task ElevenLabsClientYieldsWholeSamplesWhenTheServerSplitsThemOddly()
    {
        var pcm = Enumerable.Range(0, 1001).Select(i => (byte)i).ToArray();
        var url = await ServeAsync(async context =>
        {
            context.Response.ContentType = "audio/pcm";
            foreach (var (start, size) in (ValueTuple<int, int>[])[(0, 3), (3, 1), (4, 500), (504, 97), (601, 400)])
            {
                await context.Response.Body.WriteAsync(pcm.AsMemory(start, size));
                await context.Response.Body.FlushAsync();
                await Task.Delay(5);
            }
        });
        var client = new ElevenLabsTtsClient(_http, new ElevenLabsOptions { BaseUrl = url, ApiKey = "xi-test", VoiceId = "voice1" });
        var sizes = new List<int>();

        var audio = await CollectAsync(client.SynthesizeAsync("Hello there.", null, CancellationToken.None), sizes);

        Assert.All(sizes, s => Assert.Equal(0, s % 2));
        Assert.Equal(pcm[..1000], audio);
        Assert.Equal(16000, client.SampleRate);
        Assert.Equal("xi-test", _requestHeaders!["xi-api-key"]);
        using var body = JsonDocument.Parse(_requestBody!);
        Assert.Equal("Hello there.", body.RootElement.GetProperty("text").GetString());
    }

    [Fact]
    public async Task ElevenLabsClientReportsAnInvalidKeyFromItsDetailWithoutTheKey()
    {
        var url = await ServeAsync(async context =>
        {
            context.Response.StatusCode = 401;
            await context.Response.WriteAsync("{\"detail\":{\"status\":\"invalid_api_key\",\"message\":\"Invalid API key\"}}");
        });
        var client = new ElevenLabsTtsClient(_http, new ElevenLabsOptions { BaseUrl = url, ApiKey = "xi-secret" });

        var error = await Assert.ThrowsAsync<TtsException>(() => CollectAsync(client.SynthesizeAsync("Hi.", null, CancellationToken.None)));
        Assert.Equal(401, error.StatusCode);
        Assert.Contains("Invalid API key", error.Message);
        Assert.DoesNotContain("xi-secret", error.ToString());
    }

    [Fact]
    public async Task OpenAiSpeechClientAsksForPcmAndReportsADroppedStream()
    {
        var url = await ServeAsync(async context =>
        {
            await context.Response.Body.WriteAsync(new byte[480]);
            await context.Response.Body.FlushAsync();
            context.Abort();
        });
        var client = new OpenAiSpeechClient(_http, new OpenAiSpeechOptions { BaseUrl = url + "/v1", ApiKey = "sk-test" });

        var error = await Assert.ThrowsAsync<TtsException>(() => CollectAsync(client.SynthesizeAsync("Hi.", "en-us", CancellationToken.None)));
        Assert.True(error.IsTransient);
        Assert.Equal(24000, client.SampleRate);
        using var body = JsonDocument.Parse(_requestBody!);
        Assert.Equal("pcm", body.RootElement.GetProperty("response_format").GetString());
        Assert.Equal("alloy", body.RootElement.GetProperty("voice").GetString());
        Assert.Equal("Bearer sk-test", _requestHeaders!["Authorization"]);
    }

    [Fact]
    public async Task AnUnreachableProviderIsATransientError()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var client = new OpenAiChatClient(_http, new OpenAiChatOptions { BaseUrl = $"http://127.0.0.1:{port}/v1" });
        var error = await Assert.ThrowsAsync<LlmException>(() => CollectAsync(client.StreamAsync(Request(), CancellationToken.None)));
        Assert.Null(error.StatusCode);
        Assert.Contains("unreachable", error.Message);
    }
}
