using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Avatar.Tests.Dashboard;

[Collection(DashboardCollection.Name)]
public sealed class DashboardBrowserTests(DashboardTopology topology)
{
    [Fact]
    public async Task ABrowserLogsInWithTheLoginUrlAndSeesEveryResourceRunning()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--disable-sync"],
        });
        var page = await browser.NewPageAsync();

        await page.GotoAsync(topology.LoginUrl.ToString());

        // The first row waits for the page's first render too: in one clean run, beside other test classes on two cores,
        // no row had appeared after 30 s.
        var first = true;
        foreach (var resource in (string[])["postgres", "avatardb", "redis", .. DashboardTopology.Services])
        {
            await Assertions.Expect(Row(page, resource)).ToContainTextAsync("Running", new() { Timeout = first ? 90_000 : 30_000 });
            first = false;
        }
        await Assertions.Expect(Row(page, "migrations")).ToContainTextAsync("Finished", new() { Timeout = 30_000 });
    }

    /// <summary>The resource's row; a resource with replicas has one row per replica, named with a suffix.</summary>
    private static ILocator Row(IPage page, string resource) =>
        page.GetByRole(AriaRole.Row).Filter(new() { Has = page.GetByText(new Regex($"^{Regex.Escape(resource)}(-[a-z0-9]+)?$")) }).First;
}
