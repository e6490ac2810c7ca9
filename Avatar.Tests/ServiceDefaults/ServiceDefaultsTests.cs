using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Avatar.Tests.ServiceDefaults;

public sealed class ServiceDefaultsTests
{
    [Fact]
    public async Task ALogicalServiceNameIsResolvedRoundRobinOverItsReplicas()
    {
        await using var first = await StartServerAsync(_ => Results.Text("first"));
        await using var second = await StartServerAsync(_ => Results.Text("second"));
        using var host = ClientHost(new()
        {
            ["services:api:http:0"] = first.Url,
            ["services:api:http:1"] = second.Url,
        });
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        var answers = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            answers.Add(await client.GetStringAsync("http://api/"));
        }

        // Round robin from wherever it starts (the resolver picks the first replica at random): each in turn.
        Assert.Equal(["first", "second"], answers.Distinct().Order());
        Assert.Equal([answers[0], answers[1], answers[0], answers[1]], answers);
    }

    [Fact]
    public async Task HttpsPlusHttpFallsBackToTheHttpEndpoint()
    {
        await using var server = await StartServerAsync(_ => Results.Text("plain"));
        using var host = ClientHost(new() { ["services:api:http:0"] = server.Url });
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        Assert.Equal("plain", await client.GetStringAsync("https+http://api/"));
    }

    [Fact]
    public async Task ATransientFailureIsRetriedUntilItSucceeds()
    {
        var calls = 0;
        await using var server = await StartServerAsync(_ => Interlocked.Increment(ref calls) < 3 ? Results.StatusCode(503) : Results.Text("ok"));
        using var host = ClientHost(new() { ["services:flaky:http:0"] = server.Url });
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        Assert.Equal("ok", await client.GetStringAsync("http://flaky/"));
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task APostIsNotRetriedBecauseItMayNotBeSafeToRepeat()
    {
        var calls = 0;
        await using var server = await StartServerAsync(_ => { Interlocked.Increment(ref calls); return Results.StatusCode(503); });
        using var host = ClientHost(new() { ["services:flaky:http:0"] = server.Url });
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient();

        var response = await client.PostAsync("http://flaky/", new StringContent("x"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task HealthAndAliveAnswer()
    {
        await using var server = await StartServerAsync(_ => Results.Ok());
        using var client = new HttpClient { BaseAddress = new Uri(server.Url) };

        Assert.Equal("Healthy", await client.GetStringAsync("/health"));
        Assert.Equal("Healthy", await client.GetStringAsync("/alive"));
    }

    private static IHost ClientHost(Dictionary<string, string?> configuration)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.AddServiceDefaults();
        return builder.Build();
    }

    private static async Task<TestServer> StartServerAsync(Func<HttpContext, IResult> handler)
    {
        var builder = TestWebHost.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddServiceDefaults();
        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapMethods("/", ["GET", "POST"], handler);
        await app.StartAsync();
        return new TestServer(app);
    }

    private sealed class TestServer(WebApplication app) : IAsyncDisposable
    {
        public string Url { get; } = app.Urls.Single();

        public ValueTask DisposeAsync() => app.DisposeAsync();
    }
}
