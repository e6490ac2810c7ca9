using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace Avatar.Chat.Llm;

/// <summary>Where an OpenAI-compatible chat completions server is (OpenAI, vLLM, Ollama, llama.cpp's server).</summary>
public sealed class OpenAiChatOptions
{
    /// <summary>The API root, up to and including /v1.</summary>
    public string BaseUrl { get; set; } = "https://api.openai.com/v1";

    /// <summary>Sent as a bearer token when set; local servers often need none.</summary>
    public string? ApiKey { get; set; }

    public string Model { get; set; } = "gpt-4o-mini";
}

/// <summary>The chat completions API with <c>stream: true</c>: text deltas from server-sent events until <c>[DONE]</c>.</summary>
public sealed class OpenAiChatClient(HttpClient http, OpenAiChatOptions options) : ILlmClient
{
    /// <inheritdoc />
    public string Name => "openai";

    /// <inheritdoc />
    public async IAsyncEnumerable<string> StreamAsync(LlmRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, $"{options.BaseUrl.TrimEnd('/')}/chat/completions")
        {
            Content = new ByteArrayContent(Body(request)) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };
        if (!string.IsNullOrEmpty(options.ApiKey))
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);
        }
        await foreach (var serverEvent in ProviderHttp.StreamEventsAsync(http, message, "OpenAI-compatible server", cancellationToken))
        {
            if (serverEvent.Data == "[DONE]")
            {
                yield break;
            }
            if (Delta(serverEvent.Data) is { Length: > 0 } delta)
            {
                yield return delta;
            }
        }
        throw new LlmException("The OpenAI-compatible stream ended before [DONE].");
    }


    private static string? Delta(string data)
    {
        using var json = ParseEvent(data);
        var root = json.RootElement;
        if (root.TryGetProperty("error", out _))
        {
            throw new LlmException($"The OpenAI-compatible server failed mid-stream: {ProviderHttp.Message(root)}");
        }
        return root.TryGetProperty("choices", out var choices) && choices.GetArrayLength() > 0
            && choices[0].TryGetProperty("delta", out var delta) && delta.TryGetProperty("content", out var content)
            && content.ValueKind == JsonValueKind.String ? content.GetString() : null;
    }

    internal static JsonDocument ParseEvent(string data)
    {
        try
        {
            return JsonDocument.Parse(data);
        }
        catch (JsonException e)
        {
            throw new LlmException($"The provider sent an event that is not JSON: {e.Message}", inner: e);
        }
    }

    private byte[] Body(LlmRequest request)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("model", request.Model ?? options.Model);
            json.WriteBoolean("stream", true);
            json.WriteNumber("max_tokens", request.MaxTokens);
            if (request.Temperature is { } temperature)
            {
                json.WriteNumber("temperature", temperature);
            }
            json.WriteStartArray("messages");
            foreach (var m in request.Messages)
            {
                json.WriteStartObject();
                json.WriteString("role", m.Role switch { LlmRole.System => "system", LlmRole.User => "user", _ => "assistant" });
                json.WriteString("content", m.Content);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }
}
