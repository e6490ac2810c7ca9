using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Avatar.Chat.Llm;

/// <summary>One server-sent event: its <c>event:</c> name (null when unnamed) and its <c>data:</c> lines joined.</summary>
internal readonly record struct ServerSentEvent(string? Event, string Data);

/// <summary>What the HTTP providers share: reading text/event-stream, and turning error responses into exceptions.</summary>
internal static class ProviderHttp
{
    /// <summary>Reads events as they arrive (the WHATWG event-stream format: fields per line, a blank line ends an event).</summary>
    public static async IAsyncEnumerable<ServerSentEvent> ReadEventsAsync(Stream body, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(body);
        string? name = null;
        var data = new List<string>();
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (data.Count > 0)
                {
                    yield return new ServerSentEvent(name, string.Join('\n', data));
                }
                name = null;
                data.Clear();
            }
            else if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                data.Add(line[5..].TrimStart(' '));
            }
            else if (line.StartsWith("event:", StringComparison.Ordinal))
            {
                name = line[6..].Trim();
            }
            // Comments (":") and other fields (id, retry) carry nothing a completion needs.
        }
        if (data.Count > 0)
        {
            yield return new ServerSentEvent(name, string.Join('\n', data));
        }
    }

    /// <summary>Sends the request and returns the response once its headers are in, or the failure as (status, retry-after, message).</summary>
    public static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpRequestMessage request, string provider,
        Func<string, int?, TimeSpan?, Exception?, Exception> error, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw error($"{provider} is unreachable: {e.Message}", null, null, e);
        }
        if (response.IsSuccessStatusCode)
        {
            return response;
        }
        using (response)
        {
            var retryAfter = response.Headers.RetryAfter switch
            {
                { Delta: { } delta } => delta,
                { Date: { } date } => date - DateTimeOffset.UtcNow,
                _ => (TimeSpan?)null,
            };
            var detail = await ReadErrorAsync(response, cancellationToken);
            throw error($"{provider} answered {(int)response.StatusCode} {response.StatusCode}{(detail is null ? "" : ": " + detail)}",
                (int)response.StatusCode, retryAfter, null);
        }
    }

    /// <summary>The provider's own error message from a JSON error body, if there is one.</summary>
    private static async Task<string?> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            using var json = JsonDocument.Parse(text.Length > 65_536 ? text[..65_536] : text);
            return Message(json.RootElement);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>OpenAI {error:{message}}, Anthropic {type:"error",error:{message}}, ElevenLabs {detail:{message}} or {detail:"..."}.</summary>
    public static string? Message(JsonElement root) => root.ValueKind != JsonValueKind.Object ? null
        : root.TryGetProperty("error", out var error) ? (error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var m) ? m.GetString() : error.ToString())
        : root.TryGetProperty("detail", out var detail) ? (detail.ValueKind == JsonValueKind.Object && detail.TryGetProperty("message", out var d) ? d.GetString() : detail.ToString())
        : null;

    /// <summary>
    /// Sends a streaming completion request and yields its server-sent events. Refusals, unreachable servers and streams
    /// that break are <see cref="LlmException"/>s; the caller decides what ends the stream.
    /// </summary>
    public static async IAsyncEnumerable<ServerSentEvent> StreamEventsAsync(HttpClient http, HttpRequestMessage request, string provider,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var response = await SendAsync(http, request, provider, (text, status, retry, inner) => new LlmException(text, status, retry, inner),
            cancellationToken);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        await using var events = ReadEventsAsync(body, cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            try
            {
                if (!await events.MoveNextAsync())
                {
                    yield break;
                }
            }
            catch (Exception e) when (IsBrokenStream(e, cancellationToken))
            {
                throw new LlmException($"The {provider} stream broke: {e.Message}", inner: e);
            }
            yield return events.Current;
        }
    }

    /// <summary>Whether a failure while reading a body means the connection broke (rather than cancellation).</summary>
    public static bool IsBrokenStream(Exception e, CancellationToken cancellationToken) =>
        !cancellationToken.IsCancellationRequested && e is IOException or HttpRequestException or WebException;
}
