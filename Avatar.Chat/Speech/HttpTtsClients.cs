using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Avatar.Chat.Llm;

namespace Avatar.Chat.Speech;

/// <summary>ElevenLabs' streaming text-to-speech settings.</summary>
public sealed class ElevenLabsOptions
{
    public string BaseUrl { get; set; } = "https://api.elevenlabs.io";

    public string? ApiKey { get; set; }

    /// <summary>The voice when the character names none that ElevenLabs knows.</summary>
    public string VoiceId { get; set; } = "21m00Tcm4TlvDq8ikWAM";

    public string ModelId { get; set; } = "eleven_flash_v2_5";
}

/// <summary>OpenAI's speech API settings.</summary>
public sealed class OpenAiSpeechOptions
{
    public string BaseUrl { get; set; } = "https://api.openai.com/v1";

    public string? ApiKey { get; set; }

    public string Model { get; set; } = "gpt-4o-mini-tts";

    public string Voice { get; set; } = "alloy";
}

/// <summary>ElevenLabs' /v1/text-to-speech/{voice}/stream, as raw 16 kHz PCM (output_format=pcm_16000).</summary>
public sealed class ElevenLabsTtsClient(HttpClient http, ElevenLabsOptions options) : ITtsClient
{
    /// <inheritdoc />
    public string Name => "elevenlabs";

    /// <inheritdoc />
    public int SampleRate => 16000;

    /// <inheritdoc />
    public IAsyncEnumerable<ReadOnlyMemory<byte>> SynthesizeAsync(string text, string? voice, CancellationToken cancellationToken)
    {
        // espeak-style names ("en-us") are not ElevenLabs voice ids.
        var voiceId = string.IsNullOrWhiteSpace(voice) || voice.Contains('-', StringComparison.Ordinal) ? options.VoiceId : voice;
        var request = new HttpRequestMessage(HttpMethod.Post,
            $"{options.BaseUrl.TrimEnd('/')}/v1/text-to-speech/{Uri.EscapeDataString(voiceId)}/stream?output_format=pcm_16000")
        {
            Content = Json(json =>
            {
                json.WriteString("text", text);
                json.WriteString("model_id", options.ModelId);
            }),
        };
        request.Headers.Add("xi-api-key", options.ApiKey ?? throw new TtsException("ElevenLabs needs an API key (Chat:ElevenLabs:ApiKey)."));
        return PcmStream.ReadAsync(http, request, "ElevenLabs", cancellationToken);
    }

    internal static ByteArrayContent Json(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            body(json);
            json.WriteEndObject();
        }
        return new ByteArrayContent(buffer.ToArray()) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } };
    }
}

/// <summary>OpenAI's /v1/audio/speech with response_format=pcm: raw 24 kHz 16-bit mono, streamed.</summary>
public sealed class OpenAiSpeechClient(HttpClient http, OpenAiSpeechOptions options) : ITtsClient
{
    /// <inheritdoc />
    public string Name => "openai";

    /// <inheritdoc />
    public int SampleRate => 24000;

    /// <inheritdoc />
    public IAsyncEnumerable<ReadOnlyMemory<byte>> SynthesizeAsync(string text, string? voice, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"{options.BaseUrl.TrimEnd('/')}/audio/speech")
        {
            Content = ElevenLabsTtsClient.Json(json =>
            {
                json.WriteString("model", options.Model);
                json.WriteString("input", text);
                json.WriteString("voice", string.IsNullOrWhiteSpace(voice) || voice.Contains('-', StringComparison.Ordinal) ? options.Voice : voice);
                json.WriteString("response_format", "pcm");
            }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer",
            options.ApiKey ?? throw new TtsException("OpenAI speech needs an API key (Chat:OpenAiSpeech:ApiKey)."));
        return PcmStream.ReadAsync(http, request, "OpenAI speech", cancellationToken);
    }
}

/// <summary>Reads a raw PCM response as it streams, in whole 16-bit samples whatever the network's chunking.</summary>
internal static class PcmStream
{
    public static async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadAsync(HttpClient http, HttpRequestMessage request, string provider,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var _ = request;
        using var response = await ProviderHttp.SendAsync(http, request, provider,
            (text, status, retry, inner) => new TtsException(text, status, retry, inner), cancellationToken);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[16 * 1024];
        var carried = 0;
        while (true)
        {
            int read;
            try
            {
                read = await body.ReadAsync(buffer.AsMemory(carried), cancellationToken);
            }
            catch (Exception e) when (ProviderHttp.IsBrokenStream(e, cancellationToken))
            {
                throw new TtsException($"The {provider} stream broke: {e.Message}", inner: e);
            }
            if (read == 0)
            {
                yield break; // an odd last byte is half a sample: dropped
            }
            var available = carried + read;
            var whole = available & ~1;
            if (whole > 0)
            {
                yield return buffer.AsMemory(0, whole).ToArray();
            }
            carried = available - whole;
            if (carried == 1)
            {
                buffer[0] = buffer[whole];
            }
        }
    }
}
