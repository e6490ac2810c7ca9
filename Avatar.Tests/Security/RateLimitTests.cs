using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Avatar.Hosting;
using Avatar.Tests.Chat;
using Avatar.Tests.Hosting;

namespace Avatar.Tests.Security;

/// <summary>Chat and what it stands on, with limits made tight through the resources' environment, as an operator would.</summary>
public sealed class RateLimitTopology : IAsyncLifetime
{
    /// <summary>Requests per key per second, on each api replica.</summary>
    public const int PerKeyPerSecond = 15;

    public static readonly TimeSpan AddressPeriod = TimeSpan.FromSeconds(2);

    public const int SaysPerMinute = 3;

    public const int SocketsPerUser = 2;

    public DistributedApplication App { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var builder = await AvatarTesting.CreateBuilderAsync();
        builder.KeepOnly("chat");
        builder.Project("api")
            .WithEnvironment("RateLimits__PerKey__Permits", FormattableString.Invariant($"{PerKeyPerSecond}")).WithEnvironment("RateLimits__PerKey__Period", "00:00:01")
            .WithEnvironment("RateLimits__SignUp__Permits", "4").WithEnvironment("RateLimits__SignUp__Period", FormattableString.Invariant($"{AddressPeriod}"))
            .WithEnvironment("RateLimits__Tickets__Permits", "4").WithEnvironment("RateLimits__Tickets__Period", FormattableString.Invariant($"{AddressPeriod}"));
        builder.Project("chat")
            .WithEnvironment("RateLimits__Says__Permits", FormattableString.Invariant($"{SaysPerMinute}")).WithEnvironment("RateLimits__Says__Period", "00:01:00")
            .WithEnvironment("RateLimits__SocketsPerUser", FormattableString.Invariant($"{SocketsPerUser}"));
        App = await builder.StartAsync(TimeSpan.FromSeconds(180), "chat");
    }

    public async Task DisposeAsync() => await App.DisposeAsync();
}

[Collection(TimingSensitive.Name)]
public sealed class RateLimitTests(RateLimitTopology topology, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<RateLimitTopology>
{
    [Fact]
    public async Task A_flooding_key_gets_429_with_Retry_After_while_another_user_is_served_as_fast_as_before()
    {
        var flooder = await SignedInAsync();
        var other = await SignedInAsync();
        // Each of the flood's requests, when served, reads a page of 50 long characters: work that a limit spares.
        for (var i = 0; i < 100; i++)
        {
            (await flooder.PostAsJsonAsync("/v1/characters", new { name = $"Clone {i}", kind = "tarot", persona = new string('x', 1000) })).EnsureSuccessStatusCode();
            await Task.Delay(100); // within the key's limit
        }
        await SamplesAsync(other, 10); // warm the connection and the code paths

        // Quiet and flooded windows take turns, so the load the machine carries from elsewhere falls on both alike.
        var quiet = new List<double>();
        var flooded = new List<double>();
        var flood = new Flood();
        for (var round = 0; round < 8; round++) // 320 samples each: a p99 of fewer is little more than the slowest one
        {
            quiet.AddRange(await SamplesAsync(other, 40));
            using var stop = new CancellationTokenSource();
            var workers = Enumerable.Range(0, 8).Select(_ => flood.RunAsync(flooder, stop.Token)).ToList();
            await Task.Delay(300); // the flood drains the key's bucket first
            flooded.AddRange(await SamplesAsync(other, 40));
            await stop.CancelAsync();
            await Task.WhenAll(workers);
        }

        var (quietP99, floodedP99) = (P99(quiet), P99(flooded));
        output.WriteLine($"another user's p99: {quietP99:0.0} ms quiet, {floodedP99:0.0} ms flooded; the flood: {flood.Rejected} refused, {flood.Served} served");

        Assert.True(flood.Rejected > 0, $"the flooding key was never refused ({flood.Served} served)");
        Assert.Empty(flood.Unexpected);
        Assert.All(flood.RetryAfter, seconds => Assert.InRange(seconds, 1, 1));
        // Within 2x, or within 20 ms: the flood's own client (200 requests a second) shares this machine's two cores, and
        // its scheduling alone adds time whatever the limit does, which decides the ratio when the quiet p99 is under
        // 10 ms. Two clean-clone runs, with the limit, saw it add 12.8 and 10.1 ms to a p99 of 7.0 and 9.1 ms (past
        // the 10 ms this bound first allowed). Without the limit the p99 went from 59 to 267 ms, far past either bound.
        Assert.True(floodedP99 <= Math.Max(2 * quietP99, quietP99 + 20),
            $"p99 {floodedP99:0.0} ms under the flood against {quietP99:0.0} ms without ({flood.Rejected} refused, {flood.Served} served)");
    }

    [Fact]
    public async Task Sign_ups_from_one_address_get_429_with_Retry_After_and_are_served_after_it()
    {
        using var anonymous = topology.App.CreateHttpClient("api");
        HttpResponseMessage refused = null!;
        for (var i = 0; i < 20 && refused is null; i++)
        {
            var response = await anonymous.PostAsJsonAsync("/v1/users", new { name = "Eager", email = $"{Guid.NewGuid():N}@example.com" });
            refused = response.StatusCode == HttpStatusCode.TooManyRequests ? response : null!;
        }

        Assert.NotNull(refused);
        await AssertRefusedAsync(refused, "sign-up");
        await Task.Delay(refused.Headers.RetryAfter!.Delta!.Value);
        Assert.Equal(HttpStatusCode.Created, (await anonymous.PostAsJsonAsync("/v1/users", new { name = "Patient", email = $"{Guid.NewGuid():N}@example.com" })).StatusCode);
        await Task.Delay(RateLimitTopology.AddressPeriod); // a full bucket for the next test
    }

    [Fact]
    public async Task Tickets_for_one_address_get_429_under_their_own_limit_rather_than_the_keys()
    {
        var conversation = await ChatTopology.StartAsync(topology.App, "tarot");
        HttpResponseMessage refused = null!;
        for (var i = 0; i < 20 && refused is null; i++)
        {
            var response = await conversation.Api.PostAsync($"/v1/sessions/{conversation.SessionId}/ticket", null);
            refused = response.StatusCode == HttpStatusCode.TooManyRequests ? response : null!;
        }

        Assert.NotNull(refused);
        await AssertRefusedAsync(refused, "tickets");
        await Task.Delay(RateLimitTopology.AddressPeriod);
        Assert.Equal(HttpStatusCode.OK, (await conversation.Api.PostAsync($"/v1/sessions/{conversation.SessionId}/ticket", null)).StatusCode);
    }

    [Fact]
    public async Task Says_over_the_limit_get_a_rate_limited_frame_and_the_socket_stays_open()
    {
        var conversation = await ChatTopology.StartAsync(topology.App, "tarot");
        using var socket = await conversation.ConnectAsync();
        await socket.ReceiveAsync(); // blendshapes.header

        for (var i = 0; i <= RateLimitTopology.SaysPerMinute; i++)
        {
            await socket.SendAsync(new { type = "say", text = $"Question {i}?" });
        }
        var limited = await ReceiveErrorAsync(socket, "rate_limited");

        Assert.InRange(limited.GetProperty("retryAfter").GetInt32(), 1, 60);
        Assert.Contains($"{RateLimitTopology.SaysPerMinute} says", limited.GetProperty("message").GetString());
        await socket.SendAsync(new { type = "wave" });
        await ReceiveErrorAsync(socket, "unknown_type");
        Assert.Equal(WebSocketState.Open, socket.Socket.State);
    }

    [Fact]
    public async Task A_user_with_every_socket_allowed_open_is_refused_another_with_429_until_one_closes()
    {
        var conversation = await ChatTopology.StartAsync(topology.App, "tarot");
        var open = new List<ChatSocket>();
        for (var i = 0; i < RateLimitTopology.SocketsPerUser; i++)
        {
            open.Add(await conversation.ConnectAsync());
        }
        var uri = ChatTopology.SocketUri(topology.App, conversation.SessionId);

        Assert.Equal(HttpStatusCode.TooManyRequests, await ChatTopology.UpgradeStatusAsync(uri, conversation.ApiKey));

        await open[0].Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        var watch = Stopwatch.StartNew();
        var status = HttpStatusCode.TooManyRequests;
        while (status == HttpStatusCode.TooManyRequests && watch.Elapsed < TimeSpan.FromSeconds(10))
        {
            status = await ChatTopology.UpgradeStatusAsync(uri, conversation.ApiKey);
        }
        Assert.Equal(HttpStatusCode.SwitchingProtocols, status);
        open.ForEach(s => s.Dispose());
    }

    private async Task<HttpClient> SignedInAsync()
    {
        using var anonymous = topology.App.CreateHttpClient("api");
        var user = await (await anonymous.PostAsJsonAsync("/v1/users", new { name = "Limited", email = $"{Guid.NewGuid():N}@example.com" }))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>();
        var client = topology.App.CreateHttpClient("api");
        client.DefaultRequestHeaders.Add("X-Api-Key", user.GetProperty("apiKey").GetString());
        return client;
    }

    private static async Task<double> TimedGetAsync(HttpClient client)
    {
        var watch = Stopwatch.StartNew();
        using var response = await client.GetAsync("/v1/characters");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return watch.Elapsed.TotalMilliseconds;
    }

    /// <summary>Sequential requests at a user's pace, one every 80 ms at most: under the per-key limit.</summary>
    private static async Task<List<double>> SamplesAsync(HttpClient client, int count)
    {
        var samples = new List<double>();
        for (var i = 0; i < count; i++)
        {
            samples.Add(await TimedGetAsync(client));
            await Task.Delay(80); // within the key's own limit
        }
        return samples;
    }

    private static double P99(List<double> samples) => samples.Order().ElementAt((int)Math.Ceiling(samples.Count * 0.99) - 1);

    private static async Task AssertRefusedAsync(HttpResponseMessage refused, string policy)
    {
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.InRange(refused.Headers.RetryAfter?.Delta?.TotalSeconds ?? 0, 1, RateLimitTopology.AddressPeriod.TotalSeconds);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(policy, problem.GetProperty("policy").GetString());
    }

    private static async Task<JsonElement> ReceiveErrorAsync(ChatSocket socket, string code)
    {
        while (true)
        {
            var frame = await socket.ReceiveAsync();
            if (frame.GetProperty("type").GetString() == "error" && frame.GetProperty("code").GetString() == code)
            {
                return frame;
            }
        }
    }

    /// <summary>
    /// One key's requests, each worker sending one every 40 ms (8 workers: 200/s, over 10 times the key's limit: the
    /// orchestrator's proxy balances connections, not requests, so a client meets one replica's limit), counted by
    /// outcome. Paced, not as fast as answers come back: a closed loop takes the whole machine whatever each request
    /// costs, and what a limit changes is that cost.
    /// </summary>
    private sealed class Flood
    {
        private int _served;
        private int _rejected;

        public int Served => _served;

        public int Rejected => _rejected;

        public System.Collections.Concurrent.ConcurrentBag<double> RetryAfter { get; } = [];

        public System.Collections.Concurrent.ConcurrentBag<HttpStatusCode> Unexpected { get; } = [];

        public async Task RunAsync(HttpClient client, CancellationToken stop)
        {
            while (!stop.IsCancellationRequested)
            {
                var next = Task.Delay(40, CancellationToken.None);
                using var response = await client.GetAsync("/v1/characters?limit=50", CancellationToken.None);
                if (response.StatusCode == HttpStatusCode.TooManyRequests)
                {
                    Interlocked.Increment(ref _rejected);
                    RetryAfter.Add(response.Headers.RetryAfter?.Delta?.TotalSeconds ?? 0);
                }
                else if (response.StatusCode == HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref _served);
                }
                else
                {
                    Unexpected.Add(response.StatusCode);
                }
                await next;
            }
        }
    }
}
