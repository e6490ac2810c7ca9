using System.Buffers;
using System.Text.Json;
using Avatar.A2F.Contracts;
using Avatar.Chat.LipSync;

namespace Avatar.Chat.Conversations;

/// <summary>
/// The server's JSON text frames (README, "Conversations"). Audio and frames carry <c>t</c>, seconds on the turn's
/// audio clock (0 is the first sample of the turn), so a client plays them in sync.
/// </summary>
internal static class ChatProtocol
{
    public static byte[] Ready(ChatSession session) => Write(json =>
    {
        json.WriteString("type", "ready");
        json.WriteString("sessionId", session.Id);
        json.WriteStartObject("character");
        json.WriteString("id", session.CharacterId);
        json.WriteString("name", session.CharacterName);
        json.WriteString("kind", session.Kind);
        json.WriteEndObject();
    });

    public static byte[] BlendShapesHeader() => Write(json =>
    {
        json.WriteString("type", "blendshapes.header");
        json.WriteStartArray("names");
        foreach (var name in A2FApi.BlendShapeNames)
        {
            json.WriteStringValue(name);
        }
        json.WriteEndArray();
        json.WriteNumber("fps", 30);
    });

    public static byte[] TurnStart(Guid turnId) => Write(json =>
    {
        json.WriteString("type", "turn.start");
        json.WriteString("turnId", turnId);
    });

    public static byte[] TextDelta(Guid turnId, string text) => Write(json =>
    {
        json.WriteString("type", "text.delta");
        json.WriteString("turnId", turnId);
        json.WriteString("text", text);
    });

    public static byte[] AudioFormat(Guid turnId, int sampleRate) => Write(json =>
    {
        json.WriteString("type", "audio.format");
        json.WriteString("turnId", turnId);
        json.WriteNumber("sampleRate", sampleRate);
        json.WriteNumber("channels", 1);
        json.WriteString("encoding", "pcm_s16le");
    });

    public static byte[] Audio(Guid turnId, double time, ReadOnlyMemory<byte> pcm) => Write(json =>
    {
        json.WriteString("type", "audio");
        json.WriteString("turnId", turnId);
        json.WriteNumber("t", Math.Round(time, 4));
        json.WriteBase64String("data", pcm.Span);
    });

    public static byte[] Frames(Guid turnId, IReadOnlyList<FaceFrame> frames) => Write(json =>
    {
        json.WriteString("type", "frames");
        json.WriteString("turnId", turnId);
        json.WriteStartArray("frames");
        foreach (var frame in frames)
        {
            json.WriteStartObject();
            json.WriteNumber("t", Math.Round(frame.Time, 4));
            json.WriteStartArray("w");
            foreach (var weight in frame.Weights)
            {
                // Three decimals are below what a face can show, and keep a frame near 400 bytes.
                json.WriteNumberValue(MathF.Round(weight, 3));
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteEndArray();
    });

    public static byte[] TurnEnd(Guid turnId, bool interrupted, string text) => Write(json =>
    {
        json.WriteString("type", "turn.end");
        json.WriteString("turnId", turnId);
        json.WriteBoolean("interrupted", interrupted);
        json.WriteString("text", text);
    });

    public static byte[] Error(string code, string message) => Write(json =>
    {
        json.WriteString("type", "error");
        json.WriteString("code", code);
        json.WriteString("message", message);
    });

    /// <summary>A say over the user's limit: the socket stays open, and a say after <paramref name="retryAfterSeconds"/> is served.</summary>
    public static byte[] RateLimited(int retryAfterSeconds, string message) => Write(json =>
    {
        json.WriteString("type", "error");
        json.WriteString("code", "rate_limited");
        json.WriteString("message", message);
        json.WriteNumber("retryAfter", retryAfterSeconds);
    });

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            body(json);
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
