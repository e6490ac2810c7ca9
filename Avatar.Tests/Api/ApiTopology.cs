using System.Net.Http.Json;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Avatar.Hosting;
using Avatar.Tests.Hosting;

namespace Avatar.Tests.Api;

/// <summary>The AppHost's api with what it needs (postgres, avatardb, migrations), started once per test class.</summary>
public sealed class ApiTopology : IAsyncLifetime
{
    public DistributedApplication App { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var builder = await AvatarTesting.CreateBuilderAsync();
        builder.KeepOnly("api");
        App = await builder.StartAsync(TimeSpan.FromSeconds(120), "api");
    }

    public async Task DisposeAsync() => await App.DisposeAsync();

    /// <summary>A client of the api's stable endpoint, signed in as a new user of its own.</summary>
    public async Task<HttpClient> NewUserClientAsync(Uri? endpoint = null)
    {
        var user = await SignUpAsync();
        return ClientWithKey(user.ApiKey, endpoint);
    }

    public HttpClient ClientWithKey(string apiKey, Uri? endpoint = null)
    {
        var client = new HttpClient { BaseAddress = endpoint ?? App.GetEndpoint("api") };
        client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        return client;
    }

    public async Task<SignedUp> SignUpAsync()
    {
        using var anonymous = App.CreateHttpClient("api");
        var response = await anonymous.PostAsJsonAsync("/v1/users", new { name = "Test User", email = $"{Guid.NewGuid():N}@example.com" });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<SignedUp>())!;
    }

    public sealed record SignedUp(Guid Id, string Name, string Email, string ApiKey);
}
