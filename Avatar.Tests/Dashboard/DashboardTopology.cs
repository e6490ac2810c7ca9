using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Avatar.Tests.Hosting;

namespace Avatar.Tests.Dashboard;

/// <summary>The dashboard tests share one topology: the whole system takes a while to start.</summary>
[CollectionDefinition(Name)]
public sealed class DashboardCollection : ICollectionFixture<DashboardTopology>
{
    public const string Name = "dashboard";
}

/// <summary>The whole AppHost topology with Aspire's dashboard, started once for the dashboard tests.</summary>
public sealed class DashboardTopology : IAsyncLifetime
{
    public static readonly string[] Services = ["api", "chat", "worker", "a2f-controller", "a2f-inference"];

    public DistributedApplication App { get; private set; } = null!;

    /// <summary>The login URL, with the browser token, as <c>make run</c> prints it.</summary>
    public Uri LoginUrl { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var builder = await AvatarTesting.CreateBuilderAsync(dashboard: true);
        App = await builder.StartAsync(TimeSpan.FromSeconds(180), Services);
        LoginUrl = await App.GetDashboardUrlAsync();
    }

    public async Task DisposeAsync() => await App.DisposeAsync();

    /// <summary>A client of the dashboard's telemetry API, holding the key the login token is exchanged for.</summary>
    public Task<HttpClient> TelemetryClientAsync() => TelemetryClientAsync(LoginUrl);

    /// <summary>A client of the telemetry API of the dashboard that <paramref name="loginUrl"/> logs into.</summary>
    public static async Task<HttpClient> TelemetryClientAsync(Uri loginUrl)
    {
        var client = new HttpClient { BaseAddress = new Uri(loginUrl.GetLeftPart(UriPartial.Authority)) };
        var token = System.Web.HttpUtility.ParseQueryString(loginUrl.Query)["t"];
        var exchanged = await client.PostAsJsonAsync("/api/telemetry/validateToken", new { token });
        exchanged.EnsureSuccessStatusCode();
        client.DefaultRequestHeaders.Add("x-api-key", (await exchanged.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("apiKey").GetString());
        return client;
    }
}
