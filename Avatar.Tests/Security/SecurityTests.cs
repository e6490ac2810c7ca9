using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Avatar.Hosting;
using Avatar.Tests.Chat;
using Avatar.Tests.Dashboard;
using Avatar.Tests.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Avatar.Tests.Security;

/// <summary>
/// Chat and everything it stands on, with the dashboard (to read every trace and structured log), a provider key to
/// keep secret, and header and body timeouts short enough to wait for.
/// </summary>
public sealed class SecurityTopology : IAsyncLifetime
{
    public static readonly TimeSpan HeadersTimeout = TimeSpan.FromSeconds(2);

    public string ProviderKey { get; } = $"sk-test-{Guid.NewGuid():N}";

    public DistributedApplication App { get; private set; } = null!;

    public Uri DashboardLogin { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var builder = await AvatarTesting.CreateBuilderAsync(dashboard: true, $"--Parameters:openai-api-key={ProviderKey}");
        builder.KeepOnly("chat");
        foreach (var service in (string[])["api", "chat"])
        {
            builder.Project(service)
                .WithEnvironment("Kestrel__Limits__RequestHeadersTimeout", FormattableString.Invariant($"{HeadersTimeout}"))
                .WithEnvironment("Kestrel__Limits__MinRequestBodyDataRate__GracePeriod", FormattableString.Invariant($"{HeadersTimeout}"));
        }
        App = await builder.StartAsync(TimeSpan.FromSeconds(180), "chat");
        DashboardLogin = await App.GetDashboardUrlAsync();
    }

    public async Task DisposeAsync() => await App.DisposeAsync();
}

public sealed class SecurityTests(SecurityTopology topology) : IClassFixture<SecurityTopology>
{
    /// <summary>
    /// Every endpoint of the Api's OpenAPI document, with what another user's key gets (a 2xx means it acts on that user's
    /// own data) and the body it needs. An endpoint missing here fails the test, so a new one cannot be forgotten.
    /// </summary>
    private static readonly Dictionary<string, (HttpStatusCode Other, Func<Owned, object?> Body)> s_endpoints = new()
    {
        ["POST /v1/characters"] = (HttpStatusCode.Created, _ => new { name = "Zora", kind = "tarot", persona = "Reads cards." }),
        ["GET /v1/characters"] = (HttpStatusCode.OK, _ => null),
        ["GET /v1/characters/{id}"] = (HttpStatusCode.NotFound, _ => null),
        ["PUT /v1/characters/{id}"] = (HttpStatusCode.NotFound, _ => new { name = "Zora", kind = "tarot", persona = "Reads cards." }),
        ["DELETE /v1/characters/{id}"] = (HttpStatusCode.NotFound, _ => null),
        ["POST /v1/sessions"] = (HttpStatusCode.NotFound, owned => new { characterId = owned.CharacterId }),
        ["GET /v1/sessions"] = (HttpStatusCode.OK, _ => null),
        ["GET /v1/sessions/{id}"] = (HttpStatusCode.NotFound, _ => null),
        ["POST /v1/sessions/{id}/end"] = (HttpStatusCode.NotFound, _ => null),
        ["GET /v1/sessions/{id}/messages"] = (HttpStatusCode.NotFound, _ => null),
        ["POST /v1/sessions/{id}/ticket"] = (HttpStatusCode.NotFound, _ => null),
        ["GET /v1/facts"] = (HttpStatusCode.OK, _ => null),
        ["DELETE /v1/facts/{id}"] = (HttpStatusCode.NotFound, _ => null),
        ["GET /v1/users/me"] = (HttpStatusCode.OK, _ => null),
    };

    /// <summary>What a user owns, for the ids in an endpoint's path.</summary>
    private sealed record Owned(Guid CharacterId, Guid SessionId, Guid FactId);

    [Fact]
    public async Task Every_api_endpoint_answers_401_without_a_valid_key_404_to_another_user_and_2xx_to_its_owner()
    {
        using var anonymous = topology.App.CreateHttpClient("api");
        var document = await anonymous.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var endpoints = document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(operation => $"{operation.Name.ToUpperInvariant()} {path.Name}")).ToList();
        var owner = await ChatTopology.StartAsync(topology.App, "tarot");
        var stranger = await ChatTopology.StartAsync(topology.App, "tarot");
        using var wrong = topology.App.CreateHttpClient("api");
        wrong.DefaultRequestHeaders.Add("X-Api-Key", "avk_" + new string('x', 43));

        Assert.Contains("POST /v1/users", endpoints); // sign-up: the one endpoint without a key
        Assert.Equal(s_endpoints.Keys.Order(), endpoints.Where(e => e != "POST /v1/users").Order());
        foreach (var endpoint in endpoints.Where(e => e != "POST /v1/users"))
        {
            var (other, body) = s_endpoints[endpoint];
            var owned = await OwnedAsync(owner);
            var request = Request(endpoint, owned, body(owned));
            Assert.Equal((endpoint, HttpStatusCode.Unauthorized), (endpoint, (await anonymous.SendAsync(request())).StatusCode));
            Assert.Equal((endpoint, HttpStatusCode.Unauthorized), (endpoint, (await wrong.SendAsync(request())).StatusCode));
            Assert.Equal((endpoint, other), (endpoint, (await stranger.Api.SendAsync(request())).StatusCode));
            var own = await owner.Api.SendAsync(request());
            Assert.True(own.IsSuccessStatusCode, $"{endpoint} with the owner's key: {(int)own.StatusCode} {await own.Content.ReadAsStringAsync()}");
        }
    }

    [Fact]
    public async Task Only_chats_origin_may_call_the_api_from_a_browser()
    {
        using var api = topology.App.CreateHttpClient("api");
        var chatOrigin = topology.App.GetEndpoint("chat").GetLeftPart(UriPartial.Authority);

        var allowed = await api.SendAsync(Preflight(chatOrigin));
        var refused = await api.SendAsync(Preflight("https://evil.example"));

        Assert.Equal(chatOrigin, allowed.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("x-api-key", allowed.Headers.GetValues("Access-Control-Allow-Headers").Single(), StringComparison.OrdinalIgnoreCase);
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));
        using var simple = new HttpRequestMessage(HttpMethod.Get, "/openapi/v1.json") { Headers = { { "Origin", "https://evil.example" } } };
        Assert.False((await api.SendAsync(simple)).Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/app.js")]
    [InlineData("/config.json")]
    public async Task Chats_pages_carry_a_Content_Security_Policy_that_allows_only_chat_and_the_api(string path)
    {
        using var chat = topology.App.CreateHttpClient("chat");
        var apiOrigin = topology.App.GetEndpoint("api").GetLeftPart(UriPartial.Authority);

        var response = await chat.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var policy = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("default-src 'self'", policy);
        Assert.Contains($"connect-src 'self' {apiOrigin};", policy);
        Assert.Contains("frame-ancestors 'none'", policy);
    }

    [Theory]
    [InlineData("api")]
    [InlineData("chat")]
    public async Task A_client_that_dribbles_its_headers_is_cut_off_at_the_headers_timeout(string service)
    {
        var (closedAfter, answer) = await DribbleAsync(service, "GET /health HTTP/1.1\r\nHost: localhost\r\n", "X-Slow: still here\r\n");

        Assert.InRange(closedAfter, SecurityTopology.HeadersTimeout * 0.5, SecurityTopology.HeadersTimeout + TimeSpan.FromSeconds(4));
        Assert.True(answer.Length == 0 || answer.StartsWith("HTTP/1.1 408", StringComparison.Ordinal), answer);
    }

    [Fact]
    public async Task A_client_that_dribbles_a_body_is_cut_off_after_the_grace_period()
    {
        var (closedAfter, answer) = await DribbleAsync("api",
            "POST /v1/users HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n", " ");

        Assert.InRange(closedAfter, SecurityTopology.HeadersTimeout * 0.5, SecurityTopology.HeadersTimeout + TimeSpan.FromSeconds(4));
        Assert.True(answer.Length == 0 || answer.StartsWith("HTTP/1.1 408", StringComparison.Ordinal), answer);
    }

    [Fact]
    public async Task No_password_key_or_ticket_appears_in_any_log_line_or_trace_and_a_ticket_works_once()
    {
        var conversation = await ChatTopology.StartAsync(topology.App, "tarot");
        var ticket = await conversation.TicketAsync();
        using (var socket = new System.Net.WebSockets.ClientWebSocket())
        {
            await socket.ConnectAsync(ChatTopology.SocketUri(topology.App, conversation.SessionId, ticket), CancellationToken.None);
            using var chat = new ChatSocket(socket);
            await chat.SendAsync(new { type = "say", text = "Will I find a new job this year?" });
            await chat.ReceiveUntilAsync("turn.end");
        }
        Assert.Equal(HttpStatusCode.Unauthorized, await ChatTopology.UpgradeStatusAsync(ChatTopology.SocketUri(topology.App, conversation.SessionId, ticket)));
        var unused = await conversation.TicketAsync();
        var secrets = new Dictionary<string, string>
        {
            ["api key"] = conversation.ApiKey,
            ["spent ticket"] = ticket,
            ["unused ticket"] = unused,
            ["postgres password"] = new NpgsqlConnectionStringBuilder(await topology.App.GetConnectionStringAsync("avatardb")).Password!,
            ["redis password"] = (await topology.App.GetConnectionStringAsync("redis"))!.Split(',').Single(p => p.StartsWith("password=", StringComparison.Ordinal))[9..],
            ["provider key"] = topology.ProviderKey,
        };

        // The socket's request span ends last (when the socket closes), and it is the one that carries the ticket in its
        // url.query: once that attribute shows up (redacted or not), the telemetry of the whole flow has arrived.
        var telemetry = await TelemetryAsync(until: "?ticket=");
        var logs = await ConsoleLogsAsync();

        Assert.Contains(conversation.SessionId.ToString(), telemetry);
        Assert.NotEmpty(logs);
        foreach (var (name, secret) in secrets)
        {
            Assert.True(secret.Length >= 16, $"{name} is too short to search for");
            var at = telemetry.IndexOf(secret, StringComparison.Ordinal);
            Assert.True(at < 0, $"the {name} is in the telemetry: ...{(at < 0 ? "" : telemetry[Math.Max(0, at - 600)..Math.Min(telemetry.Length, at + 200)])}...");
            Assert.DoesNotContain(logs, line => line.Contains(secret, StringComparison.Ordinal));
        }
    }

    private static Func<HttpRequestMessage> Request(string endpoint, Owned owned, object? body)
    {
        var (method, path) = (endpoint.Split(' ')[0], endpoint.Split(' ')[1]);
        var id = path.Split('/')[2] switch { "characters" => owned.CharacterId, "sessions" => owned.SessionId, _ => owned.FactId };
        var url = path.Replace("{id}", id.ToString(), StringComparison.Ordinal);
        return () => new HttpRequestMessage(new HttpMethod(method), url) { Content = body is null ? null : JsonContent.Create(body) };
    }

    /// <summary>A character, an active session with it and a fact, all the owner's.</summary>
    private async Task<Owned> OwnedAsync(Conversation owner)
    {
        var character = await (await owner.Api.PostAsJsonAsync("/v1/characters", new { name = "Mine", kind = "tarot", persona = "Mine." }))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>();
        var characterId = character.GetProperty("id").GetGuid();
        var session = await (await owner.Api.PostAsJsonAsync("/v1/sessions", new { characterId }))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>();
        // Facts come from the worker, which this topology leaves out: one is written as the worker would.
        var factId = Guid.CreateVersion7();
        await using var db = NpgsqlDataSource.Create((await topology.App.GetConnectionStringAsync("avatardb"))!);
        await using var insert = db.CreateCommand("INSERT INTO facts (id, user_id, text, created_at) VALUES ($1, $2, $3, now())");
        insert.Parameters.Add(new() { Value = factId });
        insert.Parameters.Add(new() { Value = owner.UserId });
        insert.Parameters.Add(new() { Value = $"You like fact {factId}." });
        await insert.ExecuteNonQueryAsync();
        return new Owned(characterId, session.GetProperty("id").GetGuid(), factId);
    }

    private static HttpRequestMessage Preflight(string origin) => new(HttpMethod.Options, "/v1/characters")
    {
        Headers = { { "Origin", origin }, { "Access-Control-Request-Method", "POST" }, { "Access-Control-Request-Headers", "x-api-key,content-type" } },
    };

    /// <summary>
    /// Sends <paramref name="start"/>, then <paramref name="drip"/> every half second, and returns when the server closed
    /// the connection (with what it said), or after 20 s.
    /// </summary>
    private async Task<(TimeSpan ClosedAfter, string Answer)> DribbleAsync(string service, string start, string drip)
    {
        var endpoint = topology.App.GetEndpoint(service);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(endpoint.Host, endpoint.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(start));
        var watch = Stopwatch.StartNew();
        var answer = new MemoryStream();
        var reading = stream.CopyToAsync(answer);
        while (!reading.IsCompleted && watch.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.WhenAny(reading, Task.Delay(500));
            try
            {
                await stream.WriteAsync(Encoding.ASCII.GetBytes(drip));
            }
            catch (IOException)
            {
                break; // closed while writing
            }
        }
        await Task.WhenAny(reading, Task.Delay(1000));
        return (watch.Elapsed, Encoding.ASCII.GetString(answer.ToArray()));
    }

    /// <summary>Every span and structured log the dashboard holds, as the JSON it serves, once it mentions <paramref name="until"/>.</summary>
    private async Task<string> TelemetryAsync(string until)
    {
        using var client = await DashboardTopology.TelemetryClientAsync(topology.DashboardLogin);
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var names = (await client.GetFromJsonAsync<JsonElement>("/api/telemetry/resources")).EnumerateArray()
                .Select(r => r.GetProperty("displayName").GetString()).ToList();
            var text = new StringBuilder();
            foreach (var kind in (string[])["spans", "logs"])
            {
                foreach (var name in names)
                {
                    var response = await client.GetAsync($"/api/telemetry/{kind}?resource={name}&limit=10000");
                    text.Append(response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync() : "");
                }
            }
            if (text.ToString().Contains(until, StringComparison.Ordinal) || watch.Elapsed > TimeSpan.FromSeconds(30))
            {
                return text.ToString();
            }
            await Task.Delay(1000);
        }
    }

    /// <summary>Every line every process of the topology has written to its console.</summary>
    private async Task<List<string>> ConsoleLogsAsync()
    {
        var lines = new List<string>();
        foreach (var resource in topology.App.Services.GetRequiredService<DistributedApplicationModel>().Resources)
        {
            foreach (var replica in await topology.App.ReplicasAsync(resource.Name))
            {
                lines.AddRange(await topology.App.LogsAsync(replica.ResourceId));
            }
        }
        return lines;
    }
}
