using System.Net;
using System.Net.Http.Json;
using Aspire.Hosting.Testing;
using Avatar.Tests.Hosting;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;

namespace Avatar.Tests.Api;

public sealed class ApiTests(ApiTopology topology) : IClassFixture<ApiTopology>
{
    private static readonly object s_character = new { name = "Madame Zora", kind = "tarot", persona = "A mysterious reader of cards.", voice = "en-us+f3" };

    [Fact]
    public async Task SignUpShowsTheKeyOnceAndStoresOnlyItsHash()
    {
        var user = await topology.SignUpAsync();

        Assert.StartsWith("avk_", user.ApiKey);
        Assert.True(user.ApiKey.Length >= 40);
        await using var connection = new NpgsqlConnection(await topology.App.GetConnectionStringAsync("avatardb"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT api_key_hash FROM users WHERE id = $1", connection) { Parameters = { new() { Value = user.Id } } };
        var stored = (byte[])(await command.ExecuteScalarAsync())!;
        Assert.Equal(32, stored.Length);
        Assert.Equal(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(user.ApiKey)), stored);
        using var me = topology.ClientWithKey(user.ApiKey);
        Assert.Equal(user.Email, (await me.GetFromJsonAsync<JsonObject>("/v1/users/me"))!["email"]!.GetValue<string>());
    }

    [Fact]
    public async Task RequestsWithoutAValidKeyAreUnauthorizedWithProblemDetails()
    {
        using var anonymous = topology.App.CreateHttpClient("api");
        using var wrong = topology.ClientWithKey("avk_not-a-real-key");

        var none = await anonymous.GetAsync("/v1/characters");
        var bad = await wrong.GetAsync("/v1/sessions");

        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, bad.StatusCode);
        Assert.Equal("application/problem+json", none.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task ACharacterCanBeCreatedReadReplacedAndDeleted()
    {
        using var client = await topology.NewUserClientAsync();

        var created = await client.PostAsJsonAsync("/v1/characters", s_character);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var character = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        var id = character["id"]!.GetValue<Guid>();
        Assert.Equal($"/v1/characters/{id}", created.Headers.Location?.ToString());

        var replaced = await client.PutAsJsonAsync($"/v1/characters/{id}", new { name = "Zora", kind = "concierge", persona = "Helpful.", voice = "en-us", greeting = "Hello!" });
        Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
        var read = (await client.GetFromJsonAsync<JsonObject>($"/v1/characters/{id}"))!;
        Assert.Equal("concierge", read["kind"]!.GetValue<string>());
        Assert.Equal("Hello!", read["greeting"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/characters/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/v1/characters/{id}")).StatusCode);
    }

    [Fact]
    public async Task AnotherUsersCharactersSessionsAndMessagesAreNotFound()
    {
        using var owner = await topology.NewUserClientAsync();
        using var stranger = await topology.NewUserClientAsync();
        var character = (await (await owner.PostAsJsonAsync("/v1/characters", s_character)).Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        var session = (await (await owner.PostAsJsonAsync("/v1/sessions", new { characterId = character })).Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();

        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"/v1/characters/{character}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.PutAsJsonAsync($"/v1/characters/{character}", s_character)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.DeleteAsync($"/v1/characters/{character}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.PostAsJsonAsync("/v1/sessions", new { characterId = character })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"/v1/sessions/{session}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.PostAsync($"/v1/sessions/{session}/end", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"/v1/sessions/{session}/messages")).StatusCode);
        Assert.Empty((await stranger.GetFromJsonAsync<JsonObject>("/v1/characters"))!["items"]!.AsArray());
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync($"/v1/sessions/{session}")).StatusCode);
    }

    [Fact]
    public async Task InvalidValuesAreRejectedNamingEachField()
    {
        using var client = await topology.NewUserClientAsync();

        var response = await client.PostAsJsonAsync("/v1/characters", new { name = "", kind = "wizard", persona = "x", voice = new string('v', 101) });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!.AsObject();
        Assert.Equal(["kind", "name", "voice"], errors.Select(e => e.Key).Order());
    }

    [Fact]
    public async Task MalformedJsonIsABadRequest()
    {
        using var client = await topology.NewUserClientAsync();

        var response = await client.PostAsync("/v1/characters", new StringContent("{\"name\": \"Zora\", ", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task AnUnknownFieldIsRejectedByName()
    {
        using var client = await topology.NewUserClientAsync();

        var response = await client.PostAsJsonAsync("/v1/characters", new { name = "Zora", kind = "tarot", persona = "p", voice = "en-us", userId = Guid.NewGuid() });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("userId", (await response.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!.AsObject().Select(e => e.Key));
    }

    [Fact]
    public async Task AnOversizedBodyIsRefusedWith413()
    {
        using var client = await topology.NewUserClientAsync();

        var response = await client.PostAsJsonAsync("/v1/characters", new { name = "Zora", kind = "tarot", persona = new string('p', 100_000), voice = "en-us" });

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task KeysetPaginationVisitsEveryCharacterExactlyOnce()
    {
        using var client = await topology.NewUserClientAsync();
        var created = new List<Guid>();
        for (var i = 0; i < 7; i++)
        {
            var response = await client.PostAsJsonAsync("/v1/characters", new { name = $"C{i}", kind = "custom_chat", persona = "p", voice = "en-us" });
            created.Add((await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>());
        }

        var seen = new List<Guid>();
        string? after = null;
        do
        {
            var page = (await client.GetFromJsonAsync<JsonObject>($"/v1/characters?limit=3{(after is null ? "" : $"&after={after}")}"))!;
            seen.AddRange(page["items"]!.AsArray().Select(item => item!["id"]!.GetValue<Guid>()));
            after = page["next"]?.GetValue<Guid>().ToString();
        }
        while (after is not null);

        Assert.Equal(created, seen);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync("/v1/characters?limit=0")).StatusCode);
    }

    [Fact]
    public async Task AChangeThroughOneReplicaIsSeenAtOnceThroughTheOther()
    {
        var replicas = (await topology.App.ReplicaEnvironmentAsync("api", "ASPNETCORE_URLS")).Select(url => new Uri(url)).ToList();
        Assert.Equal(2, replicas.Count);
        var user = await topology.SignUpAsync();
        using var first = topology.ClientWithKey(user.ApiKey, replicas[0]);
        using var second = topology.ClientWithKey(user.ApiKey, replicas[1]);
        var id = (await (await first.PostAsJsonAsync("/v1/characters", s_character)).Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();

        Assert.Equal("Madame Zora", (await second.GetFromJsonAsync<JsonObject>($"/v1/characters/{id}"))!["name"]!.GetValue<string>());
        await second.PutAsJsonAsync($"/v1/characters/{id}", new { name = "Renamed", kind = "tarot", persona = "p", voice = "en-us" });
        Assert.Equal("Renamed", (await first.GetFromJsonAsync<JsonObject>($"/v1/characters/{id}"))!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task ASessionStartsListsEndsAndShowsItsTranscript()
    {
        using var client = await topology.NewUserClientAsync();
        var character = (await (await client.PostAsJsonAsync("/v1/characters", s_character)).Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();

        var created = await client.PostAsJsonAsync("/v1/sessions", new { characterId = character });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var session = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        var id = session["id"]!.GetValue<Guid>();
        Assert.Equal("active", session["status"]!.GetValue<string>());
        Assert.Single((await client.GetFromJsonAsync<JsonObject>("/v1/sessions"))!["items"]!.AsArray());

        var ended = (await (await client.PostAsync($"/v1/sessions/{id}/end", null)).Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("ended", ended["status"]!.GetValue<string>());
        Assert.NotNull(ended["endedAt"]);
        Assert.Empty((await client.GetFromJsonAsync<JsonObject>($"/v1/sessions/{id}/messages"))!["items"]!.AsArray());
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsJsonAsync("/v1/sessions", new { characterId = Guid.NewGuid() })).StatusCode);
    }

    [Theory]
    [InlineData("Robert'); DROP TABLE characters;--")]
    [InlineData("<script>alert('x')</script> \u00e9\u00e8 \u4f60\u597d \U0001F600 \\ \" %s {0}")]
    public async Task TextIsStoredExactlyAsGiven(string text)
    {
        using var client = await topology.NewUserClientAsync();

        var response = await client.PostAsJsonAsync("/v1/characters", new { name = text[..Math.Min(text.Length, 100)], kind = "tarot", persona = text, voice = "en-us" });
        var id = (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();

        var read = (await client.GetFromJsonAsync<JsonObject>($"/v1/characters/{id}"))!;
        Assert.Equal(text, read["persona"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/characters")).StatusCode);
    }

    [Fact]
    public async Task TheOpenApiDocumentDescribesEveryEndpoint()
    {
        using var client = topology.App.CreateHttpClient("api");

        var document = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json"));

        var paths = document.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains("/v1/users", paths);
        Assert.Contains("/v1/characters/{id}", paths);
        Assert.Contains("/v1/sessions/{id}/messages", paths);
        Assert.Contains("/v1/sessions/{id}/end", paths);
    }

    [Fact]
    public async Task ACharacterWithoutAVoiceGetsEnUsAndTheOpenApiDocumentSaysSo()
    {
        using var client = await topology.NewUserClientAsync();

        var created = await client.PostAsJsonAsync("/v1/characters", new { name = "Quiet", kind = "tarot", persona = "Says little." });
        var document = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json"));

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("en-us", (await created.Content.ReadFromJsonAsync<JsonObject>())!["voice"]!.GetValue<string>());
        var schema = document.RootElement.GetProperty("components").GetProperty("schemas").GetProperty("CharacterRequest");
        Assert.Equal("en-us", schema.GetProperty("properties").GetProperty("voice").GetProperty("default").GetString());
        Assert.False(schema.TryGetProperty("required", out var required) && required.EnumerateArray().Any(r => r.GetString() == "voice"));
    }
}
