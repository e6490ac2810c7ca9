using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Avatar.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Avatar.Bench;

/// <summary>
/// Conversations as users have them: the AppHost's chat with PostgreSQL, the Api and the A2F pair (Release builds),
/// the embedded engine and espeak-ng. Measures, at the client, the time from sending <c>say</c> to the first audio and
/// to the first face frames, from <c>interrupt</c> to the interrupted turn's end, and how many conversations at once this machine keeps in real time: a client that starts
/// playing 200 ms after the first audio arrives (as the browser client does) never waits for audio or frames (p99
/// lateness under 100 ms), and the first audio comes within a second. No peer runs here: the figures stand alone.
/// </summary>
public static class ChatBench
{
    private const string Question = "Will I find what I am looking for this year?";

    public static async Task<IReadOnlyList<BenchResult>> RunAsync()
    {
        await using var app = await BenchApp.StartAsync();
        var api = app.GetEndpoint("api");
        var chat = app.GetEndpoint("chat");

        using (var warm = await ConversationAsync(api, chat))
        {
            await warm.TurnAsync();
        }
        var firstAudio = new List<double>();
        var firstFrames = new List<double>();
        using (var conversation = await ConversationAsync(api, chat))
        {
            for (var i = 0; i < 20; i++)
            {
                var turn = await conversation.TurnAsync();
                firstAudio.Add(turn.FirstAudioMs);
                firstFrames.Add(turn.FirstFramesMs);
            }
        }
        var interrupts = new List<double>();
        using (var conversation = await ConversationAsync(api, chat))
        {
            for (var i = 0; i < 10; i++)
            {
                interrupts.Add(await conversation.InterruptAsync());
            }
        }
        var results = new List<BenchResult>
        {
            new("interrupt to turn.end, p50", "ms", Percentile(interrupts, 50)),
            new("interrupt to turn.end, p95", "ms", Percentile(interrupts, 95)),
            new("say to first audio, p50", "ms", Percentile(firstAudio, 50)),
            new("say to first audio, p95", "ms", Percentile(firstAudio, 95)),
            new("say to first face frames, p50", "ms", Percentile(firstFrames, 50)),
            new("say to first face frames, p95", "ms", Percentile(firstFrames, 95)),
        };

        var sustained = await SustainedConversationsAsync(api, chat);
        results.Add(new BenchResult("concurrent conversations kept in real time", "count", sustained));
        return results;
    }

    /// <summary>
    /// The most conversations at once, all speaking at the same moment, whose audio and frames stay ahead of playback
    /// (p99 lateness under 100 ms) with the first audio within a second (p95): 1, 2, 4, 8, 12... until one step fails.
    /// </summary>
    internal static async Task<int> SustainedConversationsAsync(Uri api, Uri chat)
    {
        // One conversation's turns first: the services' first turn pays for JIT and new connections (786 ms late on a
        // quiet machine), which would fail the one-conversation step of a cold topology.
        using (var warmUp = await ConversationAsync(api, chat))
        {
            await warmUp.TurnAsync();
            await warmUp.TurnAsync();
        }
        var sustained = 0;
        foreach (var count in (int[])[1, 2, 4, 8, 12, 16, 24, 32, 48, 64])
        {
            var conversations = await Task.WhenAll(Enumerable.Range(0, count).Select(_ => ConversationAsync(api, chat)));
            try
            {
                List<Turn> turns;
                try
                {
                    turns = [.. (await Task.WhenAll(conversations.Select(async c => new[] { await c.TurnAsync(), await c.TurnAsync() }))).SelectMany(t => t)];
                }
                catch (InvalidOperationException ex)
                {
                    // A turn that ended in an error frame: this step is not carried, and the search ends here.
                    Console.WriteLine($"  {count} conversations: a turn failed ({ex.Message})");
                    break;
                }
                var lateness = Percentile([.. turns.SelectMany(t => t.LatenessMs)], 99);
                var firstAudioP95 = Percentile([.. turns.Select(t => t.FirstAudioMs)], 95);
                var realTime = lateness <= 100 && firstAudioP95 <= 1000;
                Console.WriteLine($"  {count} conversations: first audio p95 {firstAudioP95:0} ms, audio and frames p99 lateness {lateness:0} ms" +
                    (realTime ? "" : " (not real time)"));
                if (!realTime)
                {
                    break;
                }
                sustained = count;
            }
            finally
            {
                foreach (var c in conversations)
                {
                    c.Dispose();
                }
            }
        }
        return sustained;
    }

    internal static double Percentile(List<double> values, int percentile)
    {
        var sorted = values.Order().ToList();
        return Math.Round(sorted[Math.Clamp((int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)], 1);
    }

    internal static async Task<Conversation> ConversationAsync(Uri api, Uri chat)
    {
        using var http = new HttpClient { BaseAddress = api };
        var user = await (await http.PostAsJsonAsync("/v1/users", new { name = "Bench", email = $"{Guid.NewGuid():N}@example.com" }))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>();
        http.DefaultRequestHeaders.Add("X-Api-Key", user.GetProperty("apiKey").GetString());
        var character = await (await http.PostAsJsonAsync("/v1/characters", new { name = "Iris", kind = "tarot", persona = "Calm.", voice = "en-us" }))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>();
        var session = await (await http.PostAsJsonAsync("/v1/sessions", new { characterId = character.GetProperty("id").GetGuid() }))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>();
        var id = session.GetProperty("id").GetGuid();
        var ticket = (await (await http.PostAsync($"/v1/sessions/{id}/ticket", null)).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>())
            .GetProperty("ticket").GetString();
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(new UriBuilder(chat) { Scheme = "ws", Path = $"/v1/sessions/{id}/ws", Query = $"ticket={ticket}" }.Uri, CancellationToken.None);
        var conversation = new Conversation(socket);
        await conversation.ReceiveAsync(); // ready
        await conversation.ReceiveAsync(); // blendshapes.header
        return conversation;
    }

    /// <param name="LatenessMs">Per audio chunk and frames message: how long after it was due to play it arrived (negative: early).</param>
    internal sealed record Turn(double FirstAudioMs, double FirstFramesMs, List<double> LatenessMs);

    private const double StartDelayMs = 200;

    internal sealed class Conversation(ClientWebSocket socket) : IDisposable
    {
        private readonly byte[] _buffer = new byte[1 << 20];

        public async Task<Turn> TurnAsync()
        {
            var clock = Stopwatch.StartNew();
            await SendAsync($"{{\"type\":\"say\",\"text\":\"{Question}\"}}");
            double firstAudio = -1, firstFrames = -1;
            var lateness = new List<double>();
            while (true)
            {
                using var message = await ReceiveAsync();
                var root = message.RootElement;
                switch (root.GetProperty("type").GetString())
                {
                    case "audio":
                        firstAudio = firstAudio < 0 ? clock.Elapsed.TotalMilliseconds : firstAudio;
                        lateness.Add(clock.Elapsed.TotalMilliseconds - (firstAudio + StartDelayMs + root.GetProperty("t").GetDouble() * 1000));
                        break;
                    case "frames":
                        firstFrames = firstFrames < 0 ? clock.Elapsed.TotalMilliseconds : firstFrames;
                        lateness.Add(clock.Elapsed.TotalMilliseconds - (firstAudio + StartDelayMs + root.GetProperty("frames")[0].GetProperty("t").GetDouble() * 1000));
                        break;
                    case "error":
                        throw new InvalidOperationException(root.ToString());
                    case "turn.end":
                        return new Turn(firstAudio, firstFrames, lateness);
                }
            }
        }

        /// <summary>Says something, interrupts at the first audio, and times the interrupt until the turn's end.</summary>
        public async Task<double> InterruptAsync()
        {
            await SendAsync($"{{\"type\":\"say\",\"text\":\"{Question}\"}}");
            while (true)
            {
                using var message = await ReceiveAsync();
                if (message.RootElement.GetProperty("type").GetString() == "audio")
                {
                    break;
                }
            }
            var clock = Stopwatch.StartNew();
            await SendAsync("{\"type\":\"interrupt\"}");
            while (true)
            {
                using var message = await ReceiveAsync();
                if (message.RootElement.GetProperty("type").GetString() == "turn.end")
                {
                    return clock.Elapsed.TotalMilliseconds;
                }
            }
        }

        private Task SendAsync(string text) =>
            socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

        public async Task<JsonDocument> ReceiveAsync()
        {
            var length = 0;
            while (true)
            {
                var result = await socket.ReceiveAsync(_buffer.AsMemory(length), CancellationToken.None);
                length += result.Count;
                if (result.EndOfMessage)
                {
                    return JsonDocument.Parse(_buffer.AsMemory(0, length));
                }
            }
        }

        public void Dispose() => socket.Dispose();
    }
}
