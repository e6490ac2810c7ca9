using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Avatar.Tests.A2F;
using Avatar.Tests.Chat;
using Grpc.Core;
using Grpc.Net.Client;
using Nvidia.Ace.Services.A2FController.V1;
using Client = Nvidia.Ace.Controller.V1;

namespace Avatar.Tests.Faults;

/// <summary>
/// What one client saw once: when (seconds on the traffic's clock), whether it was served, and what it got; the detail
/// (a gRPC status's text) is there for the reader of a failure, not for assertions.
/// </summary>
public sealed record Outcome(double At, string Client, bool Ok, string What, string? Detail = null);

/// <summary>A turn that ended with turn.end, not interrupted and without an error frame: both its messages must be stored.</summary>
public sealed record CompletedTurn(Guid SessionId, string Said, string Answer);

/// <summary>
/// Light, steady use of the whole system while a fault happens: two Api users writing and reading back characters, two
/// conversations taking turns, and a gRPC client streaming speech to the A2F controller. Every outcome is recorded, so
/// a test can say which errors clients saw and for how long.
/// </summary>
public sealed class SteadyTraffic : IAsyncDisposable
{
    private static readonly byte[] s_speech = A2FTopology.Speech("Hello there.");
    private readonly DistributedApplication _app;
    private readonly CancellationTokenSource _stop = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<Task> _loops = [];
    private readonly GrpcChannel _grpc;

    public ConcurrentQueue<Outcome> Outcomes { get; } = new();

    public ConcurrentQueue<CompletedTurn> CompletedTurns { get; } = new();

    /// <summary>Characters the Api said it created (201), with the name it was sent: each must read back unchanged.</summary>
    public ConcurrentDictionary<Guid, (HttpClient Api, string Name)> Created { get; } = new();

    public List<Conversation> Conversations { get; } = [];

    public double Now => _clock.Elapsed.TotalSeconds;

    private SteadyTraffic(DistributedApplication app)
    {
        _app = app;
        _grpc = GrpcChannel.ForAddress(app.GetEndpoint("a2f-controller", "grpc"));
    }

    public static async Task<SteadyTraffic> StartAsync(DistributedApplication app)
    {
        var traffic = new SteadyTraffic(app);
        for (var i = 0; i < 2; i++)
        {
            var conversation = await ChatTopology.StartAsync(app, "tarot");
            traffic.Conversations.Add(conversation);
            traffic._loops.Add(traffic.ApiLoopAsync($"api-{i}", conversation.Api));
            traffic._loops.Add(traffic.ChatLoopAsync($"chat-{i}", conversation));
        }
        traffic._loops.Add(traffic.GrpcLoopAsync());
        return traffic;
    }

    /// <summary>Waits until every client has been served at least <paramref name="times"/> times since <paramref name="since"/>.</summary>
    public async Task WaitForServedAsync(double since, int times = 1, int seconds = 90)
    {
        var deadline = Stopwatch.StartNew();
        string[] clients = ["api-0", "api-1", "chat-0", "chat-1", "grpc"];
        while (clients.Any(c => Outcomes.Count(o => o.Client == c && o.Ok && o.At > since) < times))
        {
            var waiting = clients.Where(c => Outcomes.Count(o => o.Client == c && o.Ok && o.At > since) < times);
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(seconds), $"not served again within {seconds} s: {string.Join(", ", waiting)}; last: "
                + string.Join("; ", waiting.Select(c => Outcomes.LastOrDefault(o => o.Client == c)?.What)));
            await Task.Delay(200);
        }
    }

    /// <summary>
    /// What clients whose name starts with <paramref name="prefix"/> saw from <paramref name="since"/> on: the errors,
    /// and the seconds from <paramref name="since"/> to the first success after the last error (0 when nothing failed).
    /// </summary>
    public (IReadOnlyList<Outcome> Errors, double Outage) Window(string prefix, double since)
    {
        var seen = Outcomes.Where(o => o.At >= since && o.Client.StartsWith(prefix, StringComparison.Ordinal)).OrderBy(o => o.At).ToList();
        var errors = seen.Where(o => !o.Ok).ToList();
        if (errors.Count == 0)
        {
            return (errors, 0);
        }
        var back = seen.FirstOrDefault(o => o.Ok && o.At > errors[^1].At);
        return (errors, (back?.At ?? Now) - since);
    }

    /// <summary>Stops the clients; their Api clients stay usable for reading back what they did.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _grpc.Dispose();
        foreach (var conversation in Conversations)
        {
            conversation.Api.Dispose();
        }
    }

    private void Record(string client, bool ok, string what, string? detail = null)
    {
        // What a call stopped by the end of the traffic threw is no client's experience.
        if (!_stop.IsCancellationRequested)
        {
            Outcomes.Enqueue(new Outcome(Now, client, ok, what, detail));
        }
    }

    private async Task ApiLoopAsync(string client, HttpClient api)
    {
        for (var i = 0; !_stop.IsCancellationRequested; i++)
        {
            // A request that hangs is an error a client sees too: give up on it as a client would.
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            try
            {
                var name = $"Character {i} {Guid.NewGuid():N}";
                var response = await api.PostAsJsonAsync("/v1/characters", new { name, kind = "tarot", persona = "Reads the cards.", voice = "en-us" }, timeout.Token);
                if (response.IsSuccessStatusCode)
                {
                    var id = (await response.Content.ReadFromJsonAsync<JsonElement>(timeout.Token)).GetProperty("id").GetGuid();
                    Created[id] = (api, name);
                    var read = await api.GetAsync($"/v1/characters/{id}", timeout.Token);
                    var readName = read.IsSuccessStatusCode ? (await read.Content.ReadFromJsonAsync<JsonElement>(timeout.Token)).GetProperty("name").GetString() : null;
                    Record(client, readName == name, readName == name ? "ok" : read.IsSuccessStatusCode ? "read back another name" : $"{(int)read.StatusCode} {read.Content.Headers.ContentType?.MediaType} on read");
                }
                else
                {
                    // The problem's detail says which outage it was (the database starting up, a timeout...): worth seeing when a
                    // test fails on one.
                    var detail = response.Content.Headers.ContentType?.MediaType == "application/problem+json"
                        && (await response.Content.ReadFromJsonAsync<JsonElement>(timeout.Token)).TryGetProperty("detail", out var d) ? d.GetString() : null;
                    Record(client, false, $"{(int)response.StatusCode} {response.Content.Headers.ContentType?.MediaType} {detail}".TrimEnd());
                }
            }
            catch (Exception e)
            {
                Record(client, false, e.GetType().Name);
            }
            await PauseAsync(100);
        }
    }

    private async Task ChatLoopAsync(string client, Conversation conversation)
    {
        ChatSocket? socket = null;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                socket ??= await conversation.ConnectAsync();
                const string said = "Will I find a new job this year?";
                await socket.SendAsync(new { type = "say", text = said });
                var frames = await socket.ReceiveUntilAsync("turn.end");
                var errors = frames.Where(f => f.GetProperty("type").GetString() == "error").Select(f => f.GetProperty("code").GetString()).ToList();
                var end = frames[^1];
                if (errors.Count == 0 && !end.GetProperty("interrupted").GetBoolean())
                {
                    CompletedTurns.Enqueue(new CompletedTurn(conversation.SessionId, said, end.GetProperty("text").GetString()!));
                }
                Record(client, errors.Count == 0, errors.Count == 0 ? "turn" : string.Join(",", errors));
            }
            catch (Exception e)
            {
                // The socket (or the Api's ticket, or chat itself) is gone: a client reconnects.
                Record(client, false, e is InvalidOperationException ? "socket closed" : e.GetType().Name);
                socket?.Dispose();
                socket = null;
            }
            await PauseAsync(500);
        }
        socket?.Dispose();
    }

    private async Task GrpcLoopAsync()
    {
        var controller = new A2FControllerService.A2FControllerServiceClient(_grpc);
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                using var call = controller.ProcessAudioStream(deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: _stop.Token);
                await call.RequestStream.WriteAsync(A2FTopology.Header());
                await call.RequestStream.WriteAsync(A2FTopology.Audio(s_speech));
                await call.RequestStream.WriteAsync(new Client.AudioStream { EndOfAudio = new() });
                await call.RequestStream.CompleteAsync();
                var frames = 0;
                await foreach (var message in call.ResponseStream.ReadAllAsync(_stop.Token))
                {
                    frames += message.AnimationData?.SkelAnimation?.BlendShapeWeights.Count ?? 0;
                }
                Record("grpc", frames > 0, $"{frames} frames");
            }
            catch (Exception e)
            {
                Record("grpc", false, e is RpcException rpc ? rpc.StatusCode.ToString() : e.GetType().Name, e.Message);
            }
            await PauseAsync(200);
        }
    }

    private async Task PauseAsync(int milliseconds)
    {
        try
        {
            await Task.Delay(milliseconds, _stop.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Every stored message of the session, through the Api, oldest first.</summary>
    public static async Task<List<(string Role, string Text)>> TranscriptAsync(Conversation conversation)
    {
        var messages = new List<(string, string)>();
        string? after = null;
        do
        {
            var page = await conversation.Api.GetFromJsonAsync<JsonElement>(
                $"/v1/sessions/{conversation.SessionId}/messages?limit=200" + (after is null ? "" : $"&after={after}"));
            messages.AddRange(page.GetProperty("items").EnumerateArray().Select(m => (m.GetProperty("role").GetString()!, m.GetProperty("text").GetString()!)));
            after = page.GetProperty("next").ValueKind == JsonValueKind.Null ? null : page.GetProperty("next").GetString();
        }
        while (after is not null);
        return messages;
    }
}
