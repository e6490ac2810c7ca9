using System.Diagnostics;
using Avatar.Hosting.Orchestration;
using Avatar.Hosting.Testing;
using Microsoft.Playwright;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Avatar.Tests.Dashboard;

public sealed class DashboardBrowserTests
{
    [Fact]
    public async Task BrowserLogsInSeesHealthyResourcesAndATraceAcrossTwoServices()
    {
        var builder = DistributedApplicationTestingBuilder.Create();
        builder.Builder.Options.DashboardEnabled = true;
        builder.Builder.AddExecutable("worker", "sh", Path.GetTempPath(), "-c", "exec sleep 60");
        await using var app = await builder.BuildAsync();
        await app.StartAsync();
        await app.ResourceNotifications.WaitForResourceHealthyAsync("worker").WaitAsync(TimeSpan.FromSeconds(20));

        string traceId;
        using (var sources = new ActivitySource("browser.front"))
        using (var backSource = new ActivitySource("browser.back"))
        {
            using var front = Sdk.CreateTracerProviderBuilder().AddSource("browser.front")
                .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("front"))
                .AddOtlpExporter(o => { o.Protocol = OtlpExportProtocol.HttpProtobuf; o.Endpoint = new Uri(app.Dashboard!.OtlpHttpUrl, "v1/traces"); }).Build()!;
            using var back = Sdk.CreateTracerProviderBuilder().AddSource("browser.back")
                .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("back"))
                .AddOtlpExporter(o => { o.Protocol = OtlpExportProtocol.HttpProtobuf; o.Endpoint = new Uri(app.Dashboard!.OtlpHttpUrl, "v1/traces"); }).Build()!;
            using (var parent = sources.StartActivity("GET /talk")!)
            {
                traceId = parent.TraceId.ToHexString();
                using var child = backSource.StartActivity("render frame", ActivityKind.Internal, parent.Context)!;
            }
            Assert.True(front.ForceFlush(10_000));
            Assert.True(back.ForceFlush(10_000));
        }

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--disable-sync"],
        });
        var page = await browser.NewPageAsync();
        await page.GotoAsync(app.Dashboard!.LoginUrl.ToString());
        var worker = page.Locator("tr[data-resource=worker]");
        await Assertions.Expect(worker.Locator(".state")).ToHaveTextAsync(KnownResourceStates.Running);
        await Assertions.Expect(worker.Locator(".health")).ToHaveTextAsync("Healthy");

        await page.GotoAsync(new Uri(app.Dashboard.Url, "traces").ToString());
        await page.Locator($"a[href='/traces/{traceId}']").ClickAsync();
        await Assertions.Expect(page.Locator("#waterfall tr.span")).ToHaveCountAsync(2);
        await Assertions.Expect(page.Locator("#waterfall tr.span[data-service=front]")).ToContainTextAsync("GET /talk");
        await Assertions.Expect(page.Locator("#waterfall tr.span[data-service=back]")).ToContainTextAsync("render frame");
    }
}
