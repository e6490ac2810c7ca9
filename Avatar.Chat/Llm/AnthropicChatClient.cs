using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Avatar.Chat.Llm;

/// <summary>Where Anthropic's Messages API is, and with which key and model.</summary>
public sealed class AnthropicOptions
{
    public string BaseUrl { get; set; } = "https://api.anthropic.com";

    public string? ApiKey { get; set; }

    public string Model { get; set; } = "claude-3-5-haiku-latest";

    /// <summary>The anthropic-version header.</summary>
    public string Version { get; set; } = "2023-06-01";
}

/// <summary>
/// Anthropic's Messages API with <c>stream: true</c>: text from <c>content_block_delta</c> events until
/// <c>message_stop</c>; an <c>error</c> event (overloaded_error...) mid-stream is a transient failure.
/// </summary>
public sealed class AnthropicChatClient(HttpClient http, AnthropicOptions options) : ILlmClient
{
    /// <inheritdoc />
    public string Name => "anthropic";

    /// <inheritdoc />
    public async IAsyncEnumerable<string> StreamAsync(LlmRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, $"{options.BaseUrl.TrimEnd('/')}/v1/messages")
        {
            Content = new ByteArrayContent(Body(request)) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };
        message.Headers.Add("x-api-key", options.ApiKey ?? throw new LlmException("Anthropic needs an API key (Chat:Anthropic:ApiKey)."));
        message.Headers.Add("anthropic-version", options.Version);
        await foreach (var serverEvent in ProviderHttp.StreamEventsAsync(http, message, "Anthropic", cancellationToken))
        {
            using var json = OpenAiChatClient.ParseEvent(serverEvent.Data);
            var root = json.RootElement;
            switch (root.TryGetProperty("type", out var type) ? type.GetString() : serverEvent.Event)
            {
                case "content_block_delta" when root.GetProperty("delta") is var delta && delta.GetProperty("type").GetString() == "text_delta":
                    yield return delta.GetProperty("text").GetString() ?? "";
                    break;
                case "message_stop":
                    yield break;
                case "error":
                    // Overloaded or internal errors arrive as an event after a 200: the caller may retry later.
                    throw new LlmException($"Anthropic failed mid-stream: {ProviderHttp.Message(root)}", statusCode: 529);
            }
        }
        throw new LlmException("The Anthropic stream ended before message_stop.");
    }


    private byte[] Body(LlmRequest request)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("model", request.Model ?? options.Model);
            json.WriteNumber("max_tokens", request.MaxTokens);
            json.WriteBoolean("stream", true);
            if (request.Temperature is { } temperature)
            {
                json.WriteNumber("temperature", temperature);
            }
            // The Messages API takes the system prompt beside the conversation, not as a message.
            var system = string.Join("\n\n", request.Messages.Where(m => m.Role == LlmRole.System).Select(m => m.Content));
            if (system.Length > 0)
            {
                json.WriteString("system", system);
            }
            json.WriteStartArray("messages");
            foreach (var m in request.Messages.Where(m => m.Role != LlmRole.System))
            {
                json.WriteStartObject();
                json.WriteString("role", m.Role == LlmRole.User ? "user" : "assistant");
                json.WriteString("content", m.Content);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }
}
