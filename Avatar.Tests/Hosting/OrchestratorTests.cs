using System.Net;
using System.Net.Sockets;
using Avatar.Hosting;
using Avatar.Hosting.Orchestration;
using Avatar.Hosting.Testing;

namespace Avatar.Tests.Hosting;

public sealed class OrchestratorTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ReplicasGetTheirOwnPortsAndTheStablePortSpreadsConnectionsOverThem()
    {
        var builder = DistributedApplicationTestingBuilder.Create();
        builder.Builder.AddWhoAmI("web").WithReplicas(3);
        await using var app = await builder.BuildAsync();
        await app.StartAsync();
        await app.ResourceNotifications.WaitForResourceHealthyAsync("web").WaitAsync(s_timeout);

        var replicas = app.GetReplicaEndpoints("web");
        var stable = app.GetEndpoint("web");
        Assert.Equal(3, replicas.Select(r => r.Port).Distinct().Count());
        Assert.DoesNotContain(stable.Port, replicas.Select(r => r.Port));

        using var client = new HttpClient();
        var answers = new HashSet<string>();
        for (var i = 0; i < 9; i++)
        {
            answers.Add(await client.GetStringAsync(stable));
        }
        Assert.Equal(["service.instance.id=web-0", "service.instance.id=web-1", "service.instance.id=web-2"], answers.Order());
    }

    [Fact]
    public async Task ACrashedProcessIsRestartedAndTheRestartIsVisible()
    {
        var builder = DistributedApplicationTestingBuilder.Create();
        builder.Builder.AddWhoAmI("web");
        await using var app = await builder.BuildAsync();
        await app.StartAsync();
        var before = await app.ResourceNotifications.WaitForResourceHealthyAsync("web").WaitAsync(s_timeout);

        using var client = new HttpClient { BaseAddress = app.GetEndpoint("web") };
        await client.GetStringAsync("/crash");

        var after = await app.ResourceNotifications.WaitForResourceAsync("web", s => s.Restarts == 1 && s.Healthy).WaitAsync(s_timeout);
        Assert.NotEqual(before.Replicas[0].Pid, after.Replicas[0].Pid);
        Assert.Equal(3, after.Replicas[0].ExitCode);
        Assert.Contains(app.ConsoleLogs.Get("web"), l => l.Text.Contains("exited with code 3", StringComparison.Ordinal));
        Assert.Equal("service.instance.id=web-0", await client.GetStringAsync("/"));
    }

    [Fact]
    public async Task AResourceWaitingForCompletionStartsOnlyAfterTheJobExitsWithZero()
    {
        var builder = DistributedApplicationTestingBuilder.Create();
        var job = builder.Builder.AddExecutable("job", "sh", Path.GetTempPath(), "-c", "sleep 1; echo migrated");
        builder.Builder.AddWhoAmI("web").WaitForCompletion(job);
        await using var app = await builder.BuildAsync();
        await app.StartAsync();

        var waiting = await app.ResourceNotifications.WaitForResourceAsync("web", KnownResourceStates.Waiting).WaitAsync(s_timeout);
        Assert.Empty(waiting.Replicas);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("web").WaitAsync(s_timeout);
        Assert.Equal(KnownResourceStates.Finished, app.ResourceNotifications.Get("job").State);
        Assert.Contains(app.ConsoleLogs.Get("job"), l => l.Text == "migrated");
    }

    [Fact]
    public async Task ReferencingServicesReceiveConnectionStringsAndOneServiceUrlPerReplica()
    {
        var builder = DistributedApplicationTestingBuilder.Create();
        var redis = builder.Builder.AddRedis("cache");
        var web = builder.Builder.AddWhoAmI("web").WithReplicas(2);
        builder.Builder.AddEnvironmentPrinter("client").WithReference(redis).WithReference(web).WaitFor(web);
        await using var app = await builder.BuildAsync();
        await app.StartAsync();
        await app.ResourceNotifications.WaitForResourceHealthyAsync("client").WaitAsync(s_timeout);

        var replicas = app.GetReplicaEndpoints("web");
        var line = await WaitForLineAsync(app, "client", "ENV ");
        Assert.Equal(
            $"ENV [\"ConnectionStrings__cache\",\"services__web__http__0=http://127.0.0.1:{replicas[0].Port}\",\"services__web__http__1=http://127.0.0.1:{replicas[1].Port}\"]",
            line);
    }

    [Fact]
    public async Task DisposingStopsEveryProcessAndFreesItsPorts()
    {
        var builder = DistributedApplicationTestingBuilder.Create();
        builder.Builder.AddWhoAmI("web").WithReplicas(2);
        builder.Builder.AddRedis("cache");
        var app = await builder.BuildAsync();
        await app.StartAsync();
        var web = await app.ResourceNotifications.WaitForResourceHealthyAsync("web").WaitAsync(s_timeout);
        var cache = await app.ResourceNotifications.WaitForResourceHealthyAsync("cache").WaitAsync(s_timeout);
        int[] pids = [.. web.Replicas.Concat(cache.Replicas).Select(r => r.Pid!.Value)];
        int[] ports = [app.GetEndpoint("web").Port, .. app.GetReplicaEndpoints("web").Select(u => u.Port), app.GetEndpoint("cache").Port];

        await app.DisposeAsync();

        Assert.All(pids, pid => Assert.False(IsAlive(pid), $"process {pid} is still running"));
        Assert.All(ports, port =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
        });
    }

    [Fact]
    public async Task AStoppedResourceCanBeStartedAgainOnTheSamePort()
    {
        var builder = DistributedApplicationTestingBuilder.Create();
        builder.Builder.AddWhoAmI("web");
        await using var app = await builder.BuildAsync();
        await app.StartAsync();
        await app.ResourceNotifications.WaitForResourceHealthyAsync("web").WaitAsync(s_timeout);
        using var client = new HttpClient { BaseAddress = app.GetEndpoint("web") };

        await app.StopResourceAsync("web");
        Assert.Equal(KnownResourceStates.Stopped, app.ResourceNotifications.Get("web").State);
        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetStringAsync("/"));

        await app.StartResourceAsync("web");
        await app.ResourceNotifications.WaitForResourceHealthyAsync("web").WaitAsync(s_timeout);
        Assert.Equal("service.instance.id=web-0", await client.GetStringAsync("/"));
    }

    [Fact]
    public async Task AMissingParameterFailsTheBuildNamingTheSetting()
    {
        var builder = DistributedApplicationTestingBuilder.Create();
        builder.Builder.AddParameter("llm-api-key", secret: true);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => builder.BuildAsync());

        Assert.Contains("Parameters__llm-api-key", error.Message);
    }

    [Fact]
    public async Task AParameterComesFromConfiguration()
    {
        var builder = DistributedApplicationTestingBuilder.Create("--Parameters:greeting=hello");
        var greeting = builder.Builder.AddParameter("greeting");
        await using var app = await builder.BuildAsync();

        Assert.Equal("hello", greeting.Resource.Value);
    }

    private static async Task<string> WaitForLineAsync(DistributedApplication app, string resource, string prefix)
    {
        using var timeout = new CancellationTokenSource(s_timeout);
        while (true)
        {
            if (app.ConsoleLogs.Get(resource).FirstOrDefault(l => l.Text.StartsWith(prefix, StringComparison.Ordinal)) is { } line)
            {
                return line.Text;
            }
            await Task.Delay(50, timeout.Token);
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
