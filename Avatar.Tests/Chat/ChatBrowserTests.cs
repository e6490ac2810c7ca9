using Aspire.Hosting.Testing;
using Microsoft.Playwright;

namespace Avatar.Tests.Chat;

public sealed class ChatBrowserTests(ChatTopology topology) : IClassFixture<ChatTopology>
{
    [Fact]
    public async Task ABrowserSignsUpCreatesACharacterAndWatchesTheMouthMoveWithTheVoice()
    {
        // Playwright's 5 s default is for a quiet machine; the suite runs topologies side by side on two cores.
        Assertions.SetDefaultExpectTimeout(20_000);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
        });
        var page = await browser.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, error) => errors.Add(error);
        await page.GotoAsync(topology.App.GetEndpoint("chat").ToString());

        await page.FillAsync("#signup [name=name]", "Browser Tester");
        await page.FillAsync("#signup [name=email]", $"{Guid.NewGuid():N}@example.com");
        await page.ClickAsync("#signup button");
        try
        {
            await Assertions.Expect(page.Locator("#key")).ToContainTextAsync("avk_");
        }
        catch (PlaywrightException e)
        {
            throw new Xunit.Sdk.XunitException($"No key after sign-up; the page says \"{await page.TextContentAsync("#status")}\".", e);
        }

        await page.ClickAsync("#characters summary");
        await page.FillAsync("#newcharacter [name=name]", "Madame Iris");
        await page.SelectOptionAsync("#newcharacter [name=kind]", "tarot");
        await page.FillAsync("#newcharacter [name=persona]", "Mysterious and warm.");
        await page.ClickAsync("#newcharacter button");
        await Assertions.Expect(page.Locator("#character option")).ToHaveCountAsync(1);
        await page.ClickAsync("#talk");
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("talking to Madame Iris");

        await page.FillAsync("#say [name=text]", "Will my garden bloom this spring?");
        await page.ClickAsync("#say button[type=submit]");
        await Assertions.Expect(page.Locator("#transcript .character")).ToContainTextAsync("For your future");
        // The mouth follows the frames as the audio clock reaches them: wait for the turn to have played.
        await page.WaitForFunctionAsync("() => window.avatar.stats.turns >= 1 && window.avatar.stats.framesShown > 30",
            null, new PageWaitForFunctionOptions { Timeout = 60_000 });

        var stats = await page.EvaluateAsync<Dictionary<string, object>>(
            "() => ({ audio: window.avatar.stats.audioChunks, open: window.avatar.stats.maxMouthOpen, errors: window.avatar.stats.errors.length })");
        Assert.True(Convert.ToInt32(stats["audio"]) > 0);
        Assert.True(Convert.ToDouble(stats["open"]) > 0.2, $"the mouth opened to {stats["open"]}");
        Assert.Equal(0, Convert.ToInt32(stats["errors"]));
        Assert.Empty(errors);
    }
}
