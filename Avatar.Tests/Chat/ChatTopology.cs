using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Avatar.Hosting;
using Avatar.Tests.Hosting;

namespace Avatar.Tests.Chat;

/// <summary>
/// The AppHost's chat with everything it needs (postgres, migrations, api, the A2F pair), started once per test class,
/// and a WebSocket client that speaks Chat's protocol.
/// </summary>
public class ChatTopology : IAsyncLifetime
{
    public DistributedApplication App { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var builder = await AvatarTesting.CreateBuilderAsync();
        builder.KeepOnly("chat");
        Configure(builder);
        App = await builder.StartAsync(TimeSpan.FromSeconds(180), "chat");
    }

    /// <summary>What a topology made for some tests changes in the AppHost's.</summary>
    protected virtual void Configure(IDistributedApplicationTestingBuilder builder)
    {
    }

    public async Task DisposeAsync() => await App.DisposeAsync();

    /// <summary>A new user with a character of <paramref name="kind"/> and an active session with it.</summary>
    public Task<Conversation> StartAsync(string kind = "tarot", string persona = "Calm and kind. Speaks slowly.") => StartAsync(App, kind, persona);

    /// <summary>A new user with a character of <paramref name="kind"/> and an active session with it, in any topology with chat.</summary>
    public static async Task<Conversation> StartAsync(DistributedApplication app, string kind, string persona = "Calm and kind. Speaks slowly.")
    {
        using var anonymous = app.CreateHttpClient("api");
        var user = await (await anonymous.PostAsJsonAsync("/v1/users", new { name = "Chat Tester", email = $"{Guid.NewGuid():N}@example.com" }))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>();
        var api = app.CreateHttpClient("api");
        var key = user.GetProperty("apiKey").GetString()!;
        api.DefaultRequestHeaders.Add("X-Api-Key", key);
        var character = await (await api.PostAsJsonAsync("/v1/characters", new { name = "Madame Iris", kind, persona, voice = "en-us" }))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>();
        var session = await (await api.PostAsJsonAsync("/v1/sessions", new { characterId = character.GetProperty("id").GetGuid() }))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>();
        return new Conversation(app, api, key, user.GetProperty("id").GetGuid(), session.GetProperty("id").GetGuid());
    }

    public Uri SocketUri(Guid sessionId, string? ticket = null) => SocketUri(App, sessionId, ticket);

    public static Uri SocketUri(DistributedApplication app, Guid sessionId, string? ticket = null)
    {
        var builder = new UriBuilder(app.GetEndpoint("chat")) { Scheme = "ws", Path = $"/v1/sessions/{sessionId}/ws" };
        if (ticket is not null)
        {
            builder.Query = "ticket=" + Uri.EscapeDataString(ticket);
        }
        return builder.Uri;
    }

    /// <summary>The status of a WebSocket upgrade (101 when it opened), the socket closed again.</summary>
    public static async Task<HttpStatusCode> UpgradeStatusAsync(Uri uri, string? apiKey = null)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (apiKey is not null)
        {
            socket.Options.SetRequestHeader("X-Api-Key", apiKey);
        }
        try
        {
            await socket.ConnectAsync(uri, CancellationToken.None);
        }
        catch (WebSocketException)
        {
        }
        return socket.HttpStatusCode;
    }
}

/// <summary>A user's session at the Api, and ways into its WebSocket.</summary>
public sealed record Conversation(DistributedApplication App, HttpClient Api, string ApiKey, Guid UserId, Guid SessionId)
{
    public async Task<string> TicketAsync() =>
        (await (await Api.PostAsync($"/v1/sessions/{SessionId}/ticket", null)).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>())
            .GetProperty("ticket").GetString()!;

    public async Task<ChatSocket> ConnectAsync()
    {
        var socket = new ClientWebSocket { Options = { CollectHttpResponseDetails = true } };
        try
        {
            await socket.ConnectAsync(ChatTopology.SocketUri(App, SessionId, await TicketAsync()), CancellationToken.None);
        }
        catch (WebSocketException e) when (socket.HttpStatusCode != 0)
        {
            // Refused before the upgrade: the status, as an HTTP client sees it (a 503 is one to retry).
            throw new HttpRequestException($"chat answered {(int)socket.HttpStatusCode} instead of upgrading", e, socket.HttpStatusCode);
        }
        var client = new ChatSocket(socket);
        Assert.Equal("ready", (await client.ReceiveAsync()).GetProperty("type").GetString());
        return client;
    }
}

/// <summary>Chat's protocol from the client's side.</summary>
public sealed class ChatSocket(ClientWebSocket socket) : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    public WebSocket Socket => socket;

    public Task SendAsync(object message) => SendTextAsync(JsonSerializer.Serialize(message));

    public Task SendTextAsync(string text) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    public async Task<JsonElement> ReceiveAsync()
    {
        using var timeout = new CancellationTokenSource(s_timeout);
        using var message = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new InvalidOperationException($"The server closed the socket: {result.CloseStatus} {result.CloseStatusDescription}");
            }
            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return JsonDocument.Parse(message.ToArray()).RootElement.Clone();
            }
        }
    }

    /// <summary>Receives until a frame of <paramref name="type"/> (inclusive).</summary>
    public async Task<List<JsonElement>> ReceiveUntilAsync(string type)
    {
        var frames = new List<JsonElement>();
        while (true)
        {
            var frame = await ReceiveAsync();
            frames.Add(frame);
            if (frame.GetProperty("type").GetString() == type)
            {
                return frames;
            }
        }
    }

    public void Dispose() => socket.Dispose();
}
