using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Avatar.Hosting;
using Avatar.Hosting.Orchestration;
using Avatar.Hosting.Testing;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Avatar.Tests.Dashboard;

public sealed class DashboardTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);

    private static async Task<DistributedApplication> StartWithDashboardAsync(Action<DistributedApplicationTestingBuilderHandle>? declare = null)
    {
        var builder = DistributedApplicationTestingBuilder.Create();
        builder.Builder.Options.DashboardEnabled = true;
        declare?.Invoke(builder);
        var app = await builder.BuildAsync();
        await app.StartAsync();
        return app;
    }

    private static HttpClient Api(DistributedApplication app)
    {
        var client = new HttpClient { BaseAddress = app.Dashboard!.Url };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", app.Dashboard.BrowserToken);
        return client;
    }

    private static async Task<JsonElement> PollAsync(HttpClient client, string path, Func<JsonElement, bool> done)
    {
        var deadline = DateTime.UtcNow + s_timeout;
        while (true)
        {
            using var doc = JsonDocument.Parse(await client.GetStringAsync(path));
            var root = doc.RootElement.Clone();
            if (done(root) || DateTime.UtcNow > deadline)
            {
                return root;
            }
            await Task.Delay(100);
        }
    }

    private static void UseOtlp(OtlpExporterOptions o, DistributedApplication app, string signal, OtlpExportProtocol protocol)
    {
        o.Protocol = protocol;
        // gRPC names the signal by service method; HTTP by path.
        o.Endpoint = protocol == OtlpExportProtocol.Grpc ? app.Dashboard!.OtlpGrpcUrl : new Uri(app.Dashboard!.OtlpHttpUrl, signal);
    }

    [Theory]
    [InlineData(OtlpExportProtocol.Grpc)]
    [InlineData(OtlpExportProtocol.HttpProtobuf)]
    public async Task SpansLogsAndMetricsFromTheOpenTelemetrySdkShowThroughTheApi(OtlpExportProtocol protocol)
    {
        await using var app = await StartWithDashboardAsync();
        using var frontSource = new ActivitySource("test.front");
        using var backSource = new ActivitySource("test.back");
        using var front = Sdk.CreateTracerProviderBuilder().AddSource("test.front")
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("front"))
            .AddOtlpExporter(o => UseOtlp(o, app, "v1/traces", protocol)).Build()!;
        using var back = Sdk.CreateTracerProviderBuilder().AddSource("test.back")
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("back"))
            .AddOtlpExporter(o => UseOtlp(o, app, "v1/traces", protocol)).Build()!;
        string traceId;
        using (var parent = frontSource.StartActivity("GET /talk", ActivityKind.Server)!)
        {
            traceId = parent.TraceId.ToHexString();
            using var child = backSource.StartActivity("synthesize", ActivityKind.Internal, parent.Context)!;
            child.SetTag("voice", "alto");
        }
        Assert.True(front.ForceFlush(10_000));
        Assert.True(back.ForceFlush(10_000));

        using (var loggers = LoggerFactory.Create(b => b.AddOpenTelemetry(o =>
        {
            o.SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("front"));
            o.AddOtlpExporter(e => UseOtlp(e, app, "v1/logs", protocol));
        })))
        {
            loggers.CreateLogger("Talk").LogWarning("Voice {Voice} is slow", "alto");
        }

        using var meter = new Meter("test.meter");
        using var meters = Sdk.CreateMeterProviderBuilder().AddMeter("test.meter")
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("back"))
            .AddOtlpExporter(o => UseOtlp(o, app, "v1/metrics", protocol)).Build()!;
        meter.CreateCounter<long>("frames.sent", "{frame}").Add(42);
        Assert.True(meters.ForceFlush(10_000));

        using var client = Api(app);
        var trace = await PollAsync(client, $"/api/traces/{traceId}", t => true);
        var spans = trace.GetProperty("spans").EnumerateArray().ToList();
        Assert.Equal(2, spans.Count);
        Assert.Equal("front", spans[0].GetProperty("service").GetString());
        Assert.Equal("back", spans[1].GetProperty("service").GetString());
        Assert.Equal(spans[0].GetProperty("spanId").GetString(), spans[1].GetProperty("parentSpanId").GetString());
        Assert.Equal("alto", spans[1].GetProperty("attributes").GetProperty("voice").GetString());

        var backTraces = await PollAsync(client, "/api/traces?service=back", t => t.GetArrayLength() > 0);
        Assert.Equal(traceId, Assert.Single(backTraces.EnumerateArray()).GetProperty("traceId").GetString());

        var logs = await PollAsync(client, "/api/logs?resource=front", l => l.GetArrayLength() > 0);
        var log = Assert.Single(logs.EnumerateArray());
        Assert.Equal("Warning", log.GetProperty("level").GetString());
        Assert.Contains("slow", log.GetProperty("message").GetString());
        Assert.Equal(0, (await PollAsync(client, "/api/logs?resource=front&level=error", _ => true)).GetArrayLength());

        var metrics = await PollAsync(client, "/api/metrics?service=back", m => m.GetArrayLength() > 0);
        var metric = Assert.Single(metrics.EnumerateArray());
        Assert.Equal("frames.sent", metric.GetProperty("name").GetString());
        Assert.Equal(42, metric.GetProperty("series")[0].GetProperty("points")[0].GetProperty("v").GetDouble());
    }

    [Fact]
    public async Task ApiAndPagesNeedTheBrowserTokenAndTheLoginUrlSetsAStrictHttpOnlyCookie()
    {
        await using var app = await StartWithDashboardAsync();
        using var anonymous = new HttpClient { BaseAddress = app.Dashboard!.Url };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/resources")).StatusCode);
        var page = await anonymous.GetAsync("/");
        Assert.Equal(HttpStatusCode.Unauthorized, page.StatusCode);
        Assert.Contains("login", await page.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/login?t=wrong")).StatusCode);

        using var wrong = new HttpClient { BaseAddress = app.Dashboard.Url };
        wrong.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "nope");
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync("/api/resources")).StatusCode);

        using var bearer = Api(app);
        Assert.Equal(HttpStatusCode.OK, (await bearer.GetAsync("/api/resources")).StatusCode);

        var cookies = new CookieContainer();
        using var browser = new HttpClient(new HttpClientHandler { CookieContainer = cookies });
        var login = await browser.GetAsync(app.Dashboard.LoginUrl);
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        Assert.Contains("<main", await login.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(new Uri(app.Dashboard.Url, "api/resources"))).StatusCode);
        Assert.Contains(login.RequestMessage!.Headers.ToString(), "Cookie", StringComparison.Ordinal);

        using var noRedirect = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        var setCookie = Assert.Single((await noRedirect.GetAsync(app.Dashboard.LoginUrl)).Headers.GetValues("Set-Cookie"));
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task TheOtlpGrpcPortServesNeitherTheApiNorThePagesWithoutAToken()
    {
        await using var app = await StartWithDashboardAsync();
        using var h2 = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };

        Assert.Equal(HttpStatusCode.NotFound, (await h2.GetAsync(new Uri(app.Dashboard!.OtlpGrpcUrl, "api/resources"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await h2.PostAsync(new Uri(app.Dashboard.OtlpGrpcUrl, "api/resources/sleeper/stop"), null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await h2.GetAsync(new Uri(app.Dashboard.OtlpGrpcUrl, "/"))).StatusCode);
    }

    [Fact]
    public async Task ResourceListShowsARunningExecutableWithItsSecretsMasked()
    {
        await using var app = await StartWithDashboardAsync(b => b.Builder
            .AddExecutable("sleeper", "sh", Path.GetTempPath(), "-c", "echo started; exec sleep 60")
            .WithEnvironment("API_TOKEN", "tok-123456")
            .WithEnvironment("ConnectionStrings__db", "Host=127.0.0.1;Password=hunter2;Database=x")
            .WithEnvironment("GREETING", "hello"));
        await app.ResourceNotifications.WaitForResourceAsync("sleeper", KnownResourceStates.Running).WaitAsync(s_timeout);
        using var client = Api(app);

        var list = await PollAsync(client, "/api/resources", r => r.EnumerateArray().Any(x => x.GetProperty("state").GetString() == "Running"));
        var sleeper = Assert.Single(list.EnumerateArray(), r => r.GetProperty("name").GetString() == "sleeper");
        Assert.Equal("Running", sleeper.GetProperty("state").GetString());
        Assert.True(sleeper.GetProperty("replicas")[0].GetProperty("pid").GetInt32() > 0);
        var env = sleeper.GetProperty("environment").EnumerateArray()
            .ToDictionary(e => e.GetProperty("name").GetString()!, e => e.GetProperty("value").GetString()!);
        Assert.Equal("hello", env["GREETING"]);
        Assert.DoesNotContain("tok-123456", env["API_TOKEN"]);
        Assert.DoesNotContain("hunter2", env["ConnectionStrings__db"]);
        Assert.Contains("Host=127.0.0.1", env["ConnectionStrings__db"]);
        Assert.Equal(app.Dashboard!.OtlpGrpcUrl.ToString().TrimEnd('/'), env["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        Assert.Equal("grpc", env["OTEL_EXPORTER_OTLP_PROTOCOL"]);

        var console = await PollAsync(client, "/api/console/sleeper", c => c.GetArrayLength() > 0);
        Assert.Contains(console.EnumerateArray(), l => l.GetProperty("text").GetString() == "started");

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/api/resources/sleeper/stop", null)).StatusCode);
        await app.ResourceNotifications.WaitForResourceAsync("sleeper", KnownResourceStates.Stopped).WaitAsync(s_timeout);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync("/api/resources/nobody/stop", null)).StatusCode);
    }
}
