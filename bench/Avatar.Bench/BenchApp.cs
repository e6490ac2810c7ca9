using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Avatar.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Avatar.Bench;

/// <summary>The AppHost's chat topology (chat and all it needs) as the benches run it.</summary>
internal static class BenchApp
{
    public static async Task<DistributedApplication> StartAsync()
    {
        var data = Directory.CreateTempSubdirectory("avatar-bench-").FullName;
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Avatar_AppHost>(
            [$"--Avatar:DataDirectory={data}", "--Avatar:Ephemeral=true"]);
        // Every process's console output would bury the figures, as in the tests.
        builder.Services.AddLogging(logging => logging.AddFilter($"{builder.Environment.ApplicationName}.Resources", LogLevel.None)
            .AddFilter("Aspire.Hosting", LogLevel.Warning));
        builder.KeepOnly("chat");
        // Hundreds of users and thousands of requests from one address and one key: the limits are meant for the
        // internet, and the benches measure capacity, not them.
        builder.CreateResourceBuilder((ProjectResource)builder.Resources.Single(r => r.Name == "api"))
            .WithEnvironment("RateLimits__SignUp__Permits", "1000000").WithEnvironment("RateLimits__Tickets__Permits", "1000000")
            .WithEnvironment("RateLimits__PerKey__Permits", "1000000");
        builder.CreateResourceBuilder((ProjectResource)builder.Resources.Single(r => r.Name == "chat"))
            .WithEnvironment("RateLimits__Says__Permits", "1000000").WithEnvironment("RateLimits__SocketsPerUser", "1000");
        // Chat is one caller to the controller (one address); past 50 conversations its streams would be refused.
        builder.CreateResourceBuilder((ProjectResource)builder.Resources.Single(r => r.Name == "a2f-controller"))
            .WithEnvironment("A2F__MaxStreamsPerCaller", "1000");
        var app = await builder.BuildAsync();
        await app.StartAsync();
        await app.ResourceNotifications.WaitForResourceHealthyAsync("chat").WaitAsync(TimeSpan.FromMinutes(3));
        return app;
    }
}
