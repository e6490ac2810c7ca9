using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Aspire.Hosting.Testing;
using Avatar.Tests.Hosting;

namespace Avatar.Tests.Api;

/// <summary>A topology of its own: stopping its database must not disturb other tests.</summary>
public sealed class ApiOutageTests(ApiTopology topology) : IClassFixture<ApiTopology>
{
    [Fact]
    public async Task WithPostgresDownTheApiAnswers503WithinItsConnectTimeoutAndRecoversWhenItReturns()
    {
        using var client = await topology.NewUserClientAsync();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/characters")).StatusCode);

        await topology.App.StopResourceAsync("postgres");
        var watch = Stopwatch.StartNew();
        var down = await client.GetAsync("/v1/characters");
        watch.Stop();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        Assert.Equal("application/problem+json", down.Content.Headers.ContentType?.MediaType);
        // DCP's proxy accepts the connection for the stopped server and never answers, so the Api waits its 2 s connect
        // timeout (a dead pooled connection would fail at once, but the keepalive has dropped those by now).
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"took {watch.Elapsed}");

        await topology.App.StartResourceAsync("postgres");
        await topology.App.ResourceNotifications.WaitForResourceHealthyAsync("postgres").WaitAsync(TimeSpan.FromSeconds(60));
        var recovered = await RetryUntilAsync(() => client.GetAsync("/v1/characters"), r => r.StatusCode == HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.OK, recovered.StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/v1/characters", new { name = "Back", kind = "tarot", persona = "p", voice = "en-us" })).StatusCode);
    }

    private static async Task<HttpResponseMessage> RetryUntilAsync(Func<Task<HttpResponseMessage>> send, Func<HttpResponseMessage, bool> done)
    {
        // The first request after the restart may meet a pooled connection to the old server: it gets a 503 too.
        for (var attempt = 0; ; attempt++)
        {
            var response = await send();
            if (done(response) || attempt == 20)
            {
                return response;
            }
            await Task.Delay(100);
        }
    }
}
