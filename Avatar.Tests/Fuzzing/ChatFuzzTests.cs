using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using Avatar.Tests.Chat;
using Xunit.Abstractions;

namespace Avatar.Tests.Fuzzing;

/// <summary>Random, malformed, oversized, binary and fragmented frames, and says and interrupts interleaved, on chat's sockets.</summary>
[Collection(FuzzingCollection.Name)]
public sealed class ChatFuzzTests(FuzzTopology topology, ITestOutputHelper output)
{
    private const int MaxMessageBytes = 16 * 1024;

    // What README's "Conversations" promises for a bad frame. The others (internal_error, storage_failed, tts_failed...)
    // say a service failed, which input alone must never make happen while every service is up.
    private static readonly string[] s_inputErrors = ["malformed_json", "invalid_message", "unknown_type", "message_too_large", "unsupported_frame"];
    private static readonly string[] s_fields = ["type", "text"];

    [Fact]
    public async Task Ten_thousand_random_frames_close_no_socket_and_get_only_the_documented_errors()
    {
        await FuzzRun.RunLanesAsync(topology.App, output, "chat", ["chat"], lanes: 16, async (cases, failures) =>
        {
            using var socket = await ConnectAsync();
            var sent = new ConcurrentQueue<string>();
            var probe = $"fuzz.end.{Guid.NewGuid():N}";
            var receiving = ReceiveAsync(socket, probe, sent, failures);
            foreach (var i in cases)
            {
                var frame = RandomFrame(FuzzInput.ForCase(i));
                sent.Enqueue($"case {i}: {frame}");
                while (sent.Count > 4 && sent.TryDequeue(out _))
                {
                }
                try
                {
                    await frame.SendAsync(socket.Socket);
                }
                catch (WebSocketException e)
                {
                    failures.Enqueue($"the socket broke ({e.Message}) after {string.Join(" then ", sent)}");
                    return;
                }
                if (frame.Pause > TimeSpan.Zero)
                {
                    await Task.Delay(frame.Pause);
                }
            }
            // Answered only once the server has read every frame before it, on a socket still open.
            await socket.SendAsync(new { type = probe });
            await receiving;
        });
    }

    /// <summary>
    /// A user with a session, and its socket. A busy machine can make the Api's or chat's 2 s to connect to PostgreSQL
    /// run out: the 503 they answer then asks the client to try again, which is what a client does.
    /// </summary>
    private async Task<ChatSocket> ConnectAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await (await ChatTopology.StartAsync(topology.App, "tarot")).ConnectAsync();
            }
            catch (HttpRequestException e) when (e.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable && attempt < 5)
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
        }
    }

    /// <summary>Reads every server frame until the probe's answer, then closes; anything but a documented answer is a failure.</summary>
    private static async Task ReceiveAsync(ChatSocket socket, string probe, ConcurrentQueue<string> sent, ConcurrentQueue<string> failures)
    {
        try
        {
            while (true)
            {
                var frame = await socket.ReceiveAsync();
                if (frame.GetProperty("type").GetString() != "error")
                {
                    continue;
                }
                var message = frame.GetProperty("message").GetString()!;
                if (message.Contains(probe, StringComparison.Ordinal))
                {
                    await socket.Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
                    return;
                }
                var code = frame.GetProperty("code").GetString();
                // storage_failed for a timeout is chat's 503: PostgreSQL did not answer within chat's 1 s, on a machine
                // this busy. For any other reason it would be input the database refused, which validation must catch.
                if (!s_inputErrors.Contains(code) && !(code == "storage_failed" && message.Contains("timed out", StringComparison.Ordinal)))
                {
                    failures.Enqueue($"{frame} after {string.Join(" then ", sent)}");
                }
            }
        }
        catch (Exception e) when (e is InvalidOperationException or WebSocketException or OperationCanceledException)
        {
            failures.Enqueue($"the socket ended ({e.Message}) after {string.Join(" then ", sent)}");
        }
    }

    private static ChatFrame RandomFrame(FuzzInput input)
    {
        var say = $"{{\"type\":\"say\",\"text\":{FuzzInput.Quote(input.Text())}}}";
        var text = input.Next(20) switch
        {
            < 4 => say,
            < 6 => "{\"type\":\"interrupt\"}",
            < 10 => input.Object(s_fields, field => field == "type" && input.Chance(0.5)
                ? FuzzInput.Quote(input.Pick("say", "interrupt", "SAY", "ready", "error", "", " say"))
                : input.Json(s_fields)),
            < 13 => input.Mangle(say),
            13 => input.Json(s_fields),
            14 => $"{{\"type\":\"say\",\"text\":\"{new string('a', input.Pick(MaxMessageBytes - 24, MaxMessageBytes - 23, 40_000))}\"}}",
            15 => "",
            _ => say,
        };
        var bytes = Encoding.UTF8.GetBytes(text);
        var fragments = input.Chance(0.15) && bytes.Length > 1 ? Split(input, bytes) : [bytes];
        var binary = input.Chance(0.05);
        // Now and then a pause after a say: the turn gets as far as its voice and face before the next frame cuts it off.
        var pause = text == say && input.Chance(0.1) ? TimeSpan.FromMilliseconds(input.Next(300)) : TimeSpan.Zero;
        return new ChatFrame(binary ? (input.Chance(0.5) ? input.Bytes(64) : bytes) : null, text, fragments, pause);
    }

    private static byte[][] Split(FuzzInput input, byte[] bytes)
    {
        var cuts = Enumerable.Range(0, input.Next(1, 4)).Select(_ => input.Next(bytes.Length)).Append(0).Append(bytes.Length).Distinct().Order().ToArray();
        return [.. cuts.Zip(cuts.Skip(1), (from, to) => bytes[from..to])];
    }
}

/// <summary>One client message: text sent whole or in fragments, or a binary one.</summary>
internal sealed record ChatFrame(byte[]? Binary, string Text, byte[][] Fragments, TimeSpan Pause)
{
    public async Task SendAsync(WebSocket socket)
    {
        if (Binary is not null)
        {
            await socket.SendAsync(Binary, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
            return;
        }
        for (var i = 0; i < Fragments.Length; i++)
        {
            await socket.SendAsync(Fragments[i], WebSocketMessageType.Text, endOfMessage: i == Fragments.Length - 1, CancellationToken.None);
        }
    }

    public override string ToString() => Binary is not null
        ? $"binary {Binary.Length} bytes"
        : $"text {FuzzRun.Show(Text)}{(Fragments.Length > 1 ? $" in {Fragments.Length} fragments" : "")}";
}
