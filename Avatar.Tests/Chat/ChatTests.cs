using Aspire.Hosting.Testing;
using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using Avatar.A2F.Contracts;
using Npgsql;

namespace Avatar.Tests.Chat;

public sealed class ChatTests(ChatTopology topology) : IClassFixture<ChatTopology>
{
    private static string Type(JsonElement frame) => frame.GetProperty("type").GetString()!;

    [Fact]
    public async Task ATurnStreamsTextAudioAndFramesOnOneClockAndIsStored()
    {
        var conversation = await topology.StartAsync("tarot");
        using var chat = await conversation.ConnectAsync();
        var header = await chat.ReceiveAsync();
        Assert.Equal("blendshapes.header", Type(header));
        Assert.Equal(A2FApi.BlendShapeNames, header.GetProperty("names").EnumerateArray().Select(n => n.GetString()));

        await chat.SendAsync(new { type = "say", text = "Will I find a new job this year?" });
        var frames = await chat.ReceiveUntilAsync("turn.end");

        Assert.Equal("turn.start", Type(frames[0]));
        var text = string.Concat(frames.Where(f => Type(f) == "text.delta").Select(f => f.GetProperty("text").GetString()));
        Assert.Contains("For your future", text);
        var format = Assert.Single(frames, f => Type(f) == "audio.format");
        var rate = format.GetProperty("sampleRate").GetInt32();
        Assert.Equal("pcm_s16le", format.GetProperty("encoding").GetString());
        var audio = frames.Where(f => Type(f) == "audio").ToList();
        Assert.True(audio.Count >= 3, "one audio chunk per sentence at least");
        var times = audio.Select(a => a.GetProperty("t").GetDouble()).ToList();
        Assert.Equal(0, times[0]);
        Assert.Equal(times.Order(), times);
        var seconds = audio.Sum(a => a.GetProperty("data").GetBytesFromBase64().Length) / 2.0 / rate;
        // Each chunk starts where the audio before it ended: one continuous clock.
        Assert.Equal(seconds - audio[^1].GetProperty("data").GetBytesFromBase64().Length / 2.0 / rate, times[^1], 3);
        var faces = frames.Where(f => Type(f) == "frames").SelectMany(f => f.GetProperty("frames").EnumerateArray()).ToList();
        Assert.InRange(faces.Count, (int)(seconds * 30 * 0.9), (int)(seconds * 30 * 1.1) + 5);
        Assert.All(faces, f => Assert.Equal(68, f.GetProperty("w").GetArrayLength()));
        Assert.All(faces, f => Assert.InRange(f.GetProperty("t").GetDouble(), 0, seconds + 0.1));
        var jaw = A2FApi.BlendShapeNames.ToList().IndexOf("JawOpen");
        Assert.True(faces.Max(f => f.GetProperty("w")[jaw].GetDouble()) > 0.2, "the jaw opens while speaking");
        var end = frames[^1];
        Assert.False(end.GetProperty("interrupted").GetBoolean());
        Assert.Equal(text.Trim(), end.GetProperty("text").GetString());

        var messages = (await conversation.Api.GetFromJsonAsync<JsonElement>($"/v1/sessions/{conversation.SessionId}/messages"))
            .GetProperty("items").EnumerateArray().Select(m => (m.GetProperty("role").GetString(), m.GetProperty("text").GetString())).ToList();
        Assert.Equal([("user", "Will I find a new job this year?"), ("character", text.Trim())], messages);
    }

    [Fact]
    public async Task TheUpgradeNeedsAValidSingleUseTicketOrKeyAndTheUsersOwnSession()
    {
        var conversation = await topology.StartAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, await ChatTopology.UpgradeStatusAsync(topology.SocketUri(conversation.SessionId)));
        Assert.Equal(HttpStatusCode.Unauthorized, await ChatTopology.UpgradeStatusAsync(topology.SocketUri(conversation.SessionId, "avt_forged")));

        var ticket = await conversation.TicketAsync();
        using (var first = new ClientWebSocket())
        {
            await first.ConnectAsync(topology.SocketUri(conversation.SessionId, ticket), CancellationToken.None);
            Assert.Equal(WebSocketState.Open, first.State);
        }
        Assert.Equal(HttpStatusCode.Unauthorized, await ChatTopology.UpgradeStatusAsync(topology.SocketUri(conversation.SessionId, ticket)));

        var stranger = await topology.StartAsync();
        Assert.Equal(HttpStatusCode.NotFound, await ChatTopology.UpgradeStatusAsync(topology.SocketUri(conversation.SessionId), stranger.ApiKey));
        Assert.Equal(HttpStatusCode.Unauthorized, await ChatTopology.UpgradeStatusAsync(topology.SocketUri(conversation.SessionId, await stranger.TicketAsync())));
        Assert.Equal(HttpStatusCode.SwitchingProtocols, await ChatTopology.UpgradeStatusAsync(topology.SocketUri(conversation.SessionId), conversation.ApiKey));
        Assert.Equal(HttpStatusCode.NotFound, (await conversation.Api.PostAsync($"/v1/sessions/{stranger.SessionId}/ticket", null)).StatusCode);
    }

    [Fact]
    public async Task BadFramesGetErrorsAndTheSocketStaysUsable()
    {
        var conversation = await topology.StartAsync("custom_chat");
        using var chat = await conversation.ConnectAsync();
        await chat.ReceiveAsync();

        await chat.SendTextAsync("this is not json");
        Assert.Equal("malformed_json", (await chat.ReceiveAsync()).GetProperty("code").GetString());
        await chat.SendAsync(new { type = "dance" });
        Assert.Equal("unknown_type", (await chat.ReceiveAsync()).GetProperty("code").GetString());
        await chat.SendAsync(new { type = "say" });
        Assert.Equal("invalid_message", (await chat.ReceiveAsync()).GetProperty("code").GetString());
        await chat.SendAsync(new { type = "say", text = new string('a', 20_000) });
        Assert.Equal("message_too_large", (await chat.ReceiveAsync()).GetProperty("code").GetString());
        await chat.Socket.SendAsync(new byte[] { 1, 2, 3 }, WebSocketMessageType.Binary, true, CancellationToken.None);
        Assert.Equal("unsupported_frame", (await chat.ReceiveAsync()).GetProperty("code").GetString());

        await chat.SendAsync(new { type = "say", text = "Hello there" });
        var turn = await chat.ReceiveUntilAsync("turn.end");
        Assert.Contains(turn, f => Type(f) == "audio");
        Assert.DoesNotContain(turn, f => Type(f) == "error");
    }

    [Fact]
    public async Task InterruptEndsTheTurnAndNothingOfItFollows()
    {
        var conversation = await topology.StartAsync("tarot");
        using var chat = await conversation.ConnectAsync();
        await chat.ReceiveAsync();

        await chat.SendAsync(new { type = "say", text = "What does my future hold?" });
        var start = await chat.ReceiveAsync();
        Assert.Equal("turn.start", Type(start));
        // Mid-speech: the voice has started and the face is being computed.
        await chat.ReceiveUntilAsync("audio");
        await chat.SendAsync(new { type = "interrupt" });
        var rest = await chat.ReceiveUntilAsync("turn.end");
        Assert.True(rest[^1].GetProperty("interrupted").GetBoolean());
        Assert.DoesNotContain(rest, f => Type(f) == "error");

        await chat.SendAsync(new { type = "say", text = "Hello again" });
        var next = await chat.ReceiveUntilAsync("turn.end");
        var turnId = next[0].GetProperty("turnId").GetString();
        Assert.Equal("turn.start", Type(next[0]));
        Assert.NotEqual(start.GetProperty("turnId").GetString(), turnId);
        Assert.All(next.Where(f => f.TryGetProperty("turnId", out _)), f => Assert.Equal(turnId, f.GetProperty("turnId").GetString()));
    }

    [Fact]
    public async Task TheConciergeAnswersFromFactsOfEarlierSessions()
    {
        var conversation = await topology.StartAsync("concierge");
        await using (var db = NpgsqlDataSource.Create((await topology.App.GetConnectionStringAsync("avatardb"))!))
        {
            await using var insert = db.CreateCommand(
                "INSERT INTO facts (id, user_id, text, created_at) VALUES (gen_random_uuid(), $1, 'You are allergic to peanuts.', now()), (gen_random_uuid(), $1, 'You live in Lisbon.', now())");
            insert.Parameters.Add(new NpgsqlParameter { Value = conversation.UserId });
            await insert.ExecuteNonQueryAsync();
        }
        using var chat = await conversation.ConnectAsync();
        await chat.ReceiveAsync();

        await chat.SendAsync(new { type = "say", text = "Which foods am I allergic to?" });
        var answer = (await chat.ReceiveUntilAsync("turn.end"))[^1].GetProperty("text").GetString();
        Assert.Contains("allergic to peanuts", answer);

        await chat.SendAsync(new { type = "say", text = "What is my favourite colour?" });
        answer = (await chat.ReceiveUntilAsync("turn.end"))[^1].GetProperty("text").GetString();
        Assert.DoesNotContain("peanuts", answer);
        Assert.Contains("tell me", answer, StringComparison.OrdinalIgnoreCase);
    }
}
