using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting.Testing;
using Avatar.Tests.Chat;

namespace Avatar.Tests.Dashboard;

[Collection(DashboardCollection.Name)]
public sealed class DashboardTests(DashboardTopology topology)
{
    private static readonly TimeSpan s_telemetryDeadline = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task TheTelemetryApiNeedsTheKeyTheLoginTokenIsExchangedFor()
    {
        using var anonymous = new HttpClient { BaseAddress = new Uri(topology.LoginUrl.GetLeftPart(UriPartial.Authority)) };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/telemetry/resources")).StatusCode);
        Assert.NotEqual(HttpStatusCode.OK, (await anonymous.PostAsJsonAsync("/api/telemetry/validateToken", new { token = "not-the-token" })).StatusCode);

        using var client = await topology.TelemetryClientAsync();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/telemetry/resources")).StatusCode);
    }

    [Fact]
    public async Task EveryServiceReportsItsTelemetryToTheDashboard()
    {
        using var client = await topology.TelemetryClientAsync();

        var reporting = await EventuallyAsync(async () =>
            (await client.GetFromJsonAsync<JsonElement>("/api/telemetry/resources")).EnumerateArray().Select(r => r.GetProperty("name").GetString()!).ToHashSet(),
            names => DashboardTopology.Services.All(names.Contains), TimeSpan.FromSeconds(60));

        Assert.Superset(DashboardTopology.Services.ToHashSet(), reporting);
    }

    [Fact]
    public async Task AnApiRequestShowsUpAsATraceIntoPostgresWithinTenSeconds()
    {
        using var client = await topology.TelemetryClientAsync();
        using var api = topology.App.CreateHttpClient("api");
        var email = $"{Guid.NewGuid():N}@example.com";

        var sent = Stopwatch.StartNew();
        (await api.PostAsJsonAsync("/v1/users", new { name = "Traced", email })).EnsureSuccessStatusCode();

        var spans = await EventuallyAsync(() => SpansAsync(client, "api"),
            all => all.Any(s => s.Name.StartsWith("POST /v1/users", StringComparison.Ordinal) && all.Any(db => db.TraceId == s.TraceId && db.IsDatabase)),
            s_telemetryDeadline);
        Assert.True(sent.Elapsed < s_telemetryDeadline, $"took {sent.Elapsed}");
        var request = spans.Last(s => s.Name.StartsWith("POST /v1/users", StringComparison.Ordinal) && spans.Any(db => db.TraceId == s.TraceId && db.IsDatabase));
        Assert.Contains(spans, s => s.TraceId == request.TraceId && s.IsDatabase && s.ParentSpanId.Length > 0);
    }

    [Fact]
    public async Task AChatTurnIsOneTraceThroughChatTheControllerAndInference()
    {
        using var client = await topology.TelemetryClientAsync();
        var conversation = await ChatTopology.StartAsync(topology.App, "tarot");
        using var socket = await conversation.ConnectAsync();

        await socket.SendAsync(new { type = "say", text = "Will I travel this year?" });
        await socket.ReceiveUntilAsync("turn.end");

        var traced = await EventuallyAsync(async () =>
            {
                var controller = await SpansAsync(client, "a2f-controller");
                var inference = await SpansAsync(client, "a2f-inference");
                var chat = await SpansAsync(client, "chat");
                return chat.Select(s => s.TraceId).Intersect(controller.Select(s => s.TraceId)).Intersect(inference.Select(s => s.TraceId)).ToList();
            },
            shared => shared.Count > 0, TimeSpan.FromSeconds(30));

        Assert.NotEmpty(traced);
    }

    [Fact]
    public async Task JobsQueuedByTheApiRunOnTheWorkerInTheRequestsTrace()
    {
        using var client = await topology.TelemetryClientAsync();
        var conversation = await ChatTopology.StartAsync(topology.App, "concierge");

        (await conversation.Api.PostAsync($"/v1/sessions/{conversation.SessionId}/end", null)).EnsureSuccessStatusCode();

        var shared = await EventuallyAsync(async () =>
            {
                var ends = (await SpansAsync(client, "api")).Where(s => s.Name.Contains("/end", StringComparison.Ordinal)).Select(s => s.TraceId);
                return (await SpansAsync(client, "worker")).Where(s => s.Name.StartsWith("job session.", StringComparison.Ordinal))
                    .Where(s => ends.Contains(s.TraceId)).Select(s => s.Name).ToHashSet();
            },
            jobs => jobs.Count == 2, TimeSpan.FromSeconds(30));

        Assert.Equal(["job session.facts", "job session.summary"], shared.Order());
    }

    private static async Task<List<Span>> SpansAsync(HttpClient client, string resource)
    {
        // A resource with replicas reports as one telemetry resource per replica, each named by its display name.
        var replicas = (await client.GetFromJsonAsync<JsonElement>("/api/telemetry/resources")).EnumerateArray()
            .Where(r => r.GetProperty("name").GetString() == resource).Select(r => r.GetProperty("displayName").GetString()).ToList();
        if (replicas.Count == 0)
        {
            return [];
        }
        var response = await client.GetAsync($"/api/telemetry/spans?{string.Join('&', replicas.Select(r => $"resource={r}"))}&limit=2000");
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return []; // nothing from that resource yet
        }
        var body = await response.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>();
        var spans = new List<Span>();
        foreach (var resourceSpans in body.GetProperty("data").GetProperty("resourceSpans").EnumerateArray())
        {
            foreach (var scope in resourceSpans.GetProperty("scopeSpans").EnumerateArray())
            {
                foreach (var span in scope.GetProperty("spans").EnumerateArray())
                {
                    var attributes = span.TryGetProperty("attributes", out var a) ? a.EnumerateArray().Select(x => x.GetProperty("key").GetString()!).ToList() : [];
                    spans.Add(new Span(
                        span.GetProperty("traceId").GetString()!,
                        span.TryGetProperty("parentSpanId", out var parent) ? parent.GetString() ?? "" : "",
                        span.GetProperty("name").GetString()!,
                        attributes.Contains("db.system") || attributes.Contains("db.system.name")));
                }
            }
        }
        return spans;
    }

    private static async Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan within)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var value = await read();
            if (done(value) || watch.Elapsed > within)
            {
                return value;
            }
            await Task.Delay(250);
        }
    }

    private sealed record Span(string TraceId, string ParentSpanId, string Name, bool IsDatabase);
}
