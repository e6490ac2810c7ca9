using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting.Testing;
using Avatar.Tests.Chat;
using Avatar.Tests.Hosting;
using Avatar.Worker.Jobs;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Avatar.Tests.Faults;

/// <summary>
/// Kill -9 of one process at a time under steady traffic: what clients see, for how long, that nothing else restarts,
/// and that nothing is lost. The AppHost brings the killed process back (CrashRestart); every fault waits for the whole
/// system to serve again before the next.
/// </summary>
[Collection(FaultCollection.Name)]
public sealed class FaultMatrixTests(FaultTopology topology, ITestOutputHelper output)
{
    // Generous for a 2-core machine shared with other test runs: a restart is 1 s of back-off plus a process start
    // (5 to 20 s for a .NET service under load). A fault that never heals still fails it.
    private static readonly TimeSpan s_recovery = TimeSpan.FromSeconds(90);
    private const double MaxOutageSeconds = 60;

    [Fact]
    public async Task Killing_postgres_gives_503_and_storage_failed_until_it_is_back_and_loses_nothing()
    {
        await using var traffic = await SteadyTraffic.StartAsync(topology.App);

        var fault = await KillAndRecoverAsync("postgres", traffic);

        var (api, apiOutage) = traffic.Window("api", fault.KilledAt);
        Assert.NotEmpty(api);
        Assert.All(api, e => Assert.StartsWith("503 application/problem+json", e.What, StringComparison.Ordinal));
        var (chat, chatOutage) = traffic.Window("chat", fault.KilledAt);
        Assert.Contains(chat, e => e.What == "storage_failed");
        // One run in five also showed lipsync_unavailable during the PostgreSQL restart (not explained yet; the A2F pair
        // uses no database): allowed, since the voice still went on, but nothing else is.
        Assert.All(chat, e => Assert.Contains(e.What, (string[])["storage_failed", "lipsync_unavailable"]));
        Assert.Empty(traffic.Window("grpc", fault.KilledAt).Errors);
        Assert.InRange(apiOutage, 0, MaxOutageSeconds);
        Assert.InRange(chatOutage, 0, MaxOutageSeconds);
        await Report(fault, traffic);
        await AssertNothingLostAsync(traffic);
    }

    [Fact]
    public async Task Killing_redis_is_unseen_by_clients_and_every_queued_job_runs_exactly_once()
    {
        await using var traffic = await SteadyTraffic.StartAsync(topology.App);
        var queue = new JobQueue(topology.Redis, TimeProvider.System);
        // In flight when Redis dies: run, but their acknowledgement fails, so they are delivered again later.
        var inFlight = await EnqueueProbesAsync(queue, 3, sleepMs: 2000);
        var endedBefore = await EndNewSessionAsync();
        await Task.Delay(500);

        // Ended while Redis is down: the Api cannot queue its jobs, and the worker's sweep does once Redis is back.
        var fault = await KillAndRecoverAsync("redis", traffic, async () => await EndNewSessionAsync());

        Assert.Empty(traffic.Window("api", fault.KilledAt).Errors);
        Assert.Empty(traffic.Window("chat", fault.KilledAt).Errors);
        Assert.Empty(traffic.Window("grpc", fault.KilledAt).Errors);
        var queuedAfter = await EnqueueProbesAsync(queue, 3, sleepMs: 0);
        string[] jobs = [.. inFlight, .. queuedAfter, .. SessionJobs(endedBefore), .. SessionJobs((Guid)fault.During!)];
        await AssertRunOnceAsync(jobs);
        await Report(fault, traffic);
        await AssertNothingLostAsync(traffic);
    }

    // The controller waits for inference to accept a stream, up to 3 s in test topologies (the shipped 0.8 s, and the
    // UNAVAILABLE it gives, are A2FOutageTests'), so a restart inside that wait is most likely ridden out: with the
    // steady client's one call every 200 ms, a run saw 2 UNAVAILABLE in 6.5 s, and one clean-clone run none at all.
    [Fact]
    public Task Killing_a2f_inference_gives_unavailable_or_nothing_and_lipsync_unavailable_until_it_is_back() =>
        KillA2FAsync("a2f-inference", "Unavailable");

    // A stream in flight when the controller dies is not ended by the orchestrator's proxy: it runs into its deadline
    // (10 s here). New calls get UNAVAILABLE, or, in one run of six, none failed at all (the proxy may hold a new
    // connection until the controller is back).
    [Fact]
    public Task Killing_the_a2f_controller_gives_unavailable_or_a_deadline_and_lipsync_unavailable_until_it_is_back() =>
        KillA2FAsync("a2f-controller", "Unavailable", "DeadlineExceeded");

    private async Task KillA2FAsync(string resource, params string[] grpcErrors)
    {
        await using var traffic = await SteadyTraffic.StartAsync(topology.App);

        var fault = await KillAndRecoverAsync(resource, traffic);

        var (grpc, grpcOutage) = traffic.Window("grpc", fault.KilledAt);
        Assert.All(grpc, e => Assert.Contains(e.What, grpcErrors));
        var (chat, chatOutage) = traffic.Window("chat", fault.KilledAt);
        Assert.All(chat, e => Assert.Equal("lipsync_unavailable", e.What));
        Assert.Empty(traffic.Window("api", fault.KilledAt).Errors);
        Assert.InRange(grpcOutage, 0, MaxOutageSeconds);
        Assert.InRange(chatOutage, 0, MaxOutageSeconds);
        await Report(fault, traffic);
        await AssertNothingLostAsync(traffic);
    }

    [Fact]
    public async Task Killing_one_api_replica_leaves_the_other_serving_and_loses_nothing()
    {
        await using var traffic = await SteadyTraffic.StartAsync(topology.App);

        var fault = await KillAndRecoverAsync("api", traffic);

        var (api, apiOutage) = traffic.Window("api", fault.KilledAt);
        // The orchestrator's proxy sends each new connection to the next replica: while one is dead, about every other
        // request can fail, never all of them.
        var served = traffic.Outcomes.Count(o => o.Client.StartsWith("api", StringComparison.Ordinal) && o.Ok && o.At >= fault.KilledAt && o.At <= fault.KilledAt + apiOutage);
        Assert.True(api.Count == 0 || served > 0, $"no request was served while one replica was down: {Describe(api)}");
        Assert.Empty(traffic.Window("chat", fault.KilledAt).Errors);
        Assert.Empty(traffic.Window("grpc", fault.KilledAt).Errors);
        Assert.InRange(apiOutage, 0, MaxOutageSeconds);
        await Report(fault, traffic);
        await AssertNothingLostAsync(traffic);
    }

    [Fact]
    public async Task Killing_the_worker_mid_job_runs_that_job_and_every_job_queued_meanwhile_exactly_once()
    {
        await using var traffic = await SteadyTraffic.StartAsync(topology.App);
        var queue = new JobQueue(topology.Redis, TimeProvider.System);
        await traffic.WaitForServedAsync(0);
        // Long enough to be still running when the worker is killed, however slowly this machine gets to the kill.
        var slow = Assert.Single(await EnqueueProbesAsync(queue, 1, sleepMs: 8000));
        await WaitUntilAsync(async () => (await topology.Redis.GetDatabase().StreamPendingAsync(JobQueue.Stream, JobQueue.Group)).PendingMessageCount > 0,
            "the worker to take the slow job");

        var fault = await KillAndRecoverAsync("worker", traffic, async () => await EnqueueProbesAsync(queue, 3, sleepMs: 0));
        var killed = DateTimeOffset.UtcNow.AddSeconds(fault.KilledAt - traffic.Now);

        Assert.Empty(traffic.Window("api", fault.KilledAt).Errors);
        Assert.Empty(traffic.Window("chat", fault.KilledAt).Errors);
        Assert.Empty(traffic.Window("grpc", fault.KilledAt).Errors);
        await AssertRunOnceAsync([slow, .. (string[])fault.During!]);
        var finished = await topology.CompletedAtAsync(slow) - killed;
        Assert.InRange(finished.TotalSeconds, 0, MaxOutageSeconds);
        await Report(fault, traffic, $"the killed worker's job finished {finished.TotalSeconds:0.0} s after the kill");
        await AssertNothingLostAsync(traffic);
    }

    [Fact]
    public async Task Killing_chat_mid_turn_closes_its_sockets_until_it_is_back_and_keeps_every_completed_turn()
    {
        await using var traffic = await SteadyTraffic.StartAsync(topology.App);
        await traffic.WaitForServedAsync(0);
        var conversation = traffic.Conversations[0];
        // Mid-turn: a turn of the traffic's first conversation has started speaking when chat dies.
        var sayingBefore = (await SteadyTraffic.TranscriptAsync(conversation)).Count(m => m.Role == "user");
        await WaitUntilAsync(async () => (await SteadyTraffic.TranscriptAsync(conversation)).Count(m => m.Role == "user") > sayingBefore, "a turn to start");

        var fault = await KillAndRecoverAsync("chat", traffic);

        var (chat, chatOutage) = traffic.Window("chat", fault.KilledAt);
        Assert.NotEmpty(chat);
        Assert.All(chat, e => Assert.Contains(e.What, (string[])["socket closed", "WebSocketException"]));
        Assert.Empty(traffic.Window("api", fault.KilledAt).Errors);
        Assert.Empty(traffic.Window("grpc", fault.KilledAt).Errors);
        Assert.InRange(chatOutage, 0, MaxOutageSeconds);
        await Report(fault, traffic);
        await AssertNothingLostAsync(traffic);
    }

    private sealed record Fault(string Resource, double KilledAt, double HealthyAfter, object? During);

    /// <summary>
    /// Waits until every client has been served, kills the resource's (first) process, runs <paramref name="during"/>
    /// while it is down, then waits until everything is healthy and every client is served again; asserts that only the
    /// killed process was replaced.
    /// </summary>
    private async Task<Fault> KillAndRecoverAsync(string resource, SteadyTraffic traffic, Func<Task<object>>? during = null)
    {
        await traffic.WaitForServedAsync(0);
        var before = await topology.ProcessIdsAsync();
        var killedAt = traffic.Now;
        var pid = await topology.KillAsync(resource);
        var duringResult = during is null ? null : await during();
        await WaitUntilAsync(async () =>
        {
            var now = await topology.App.ProcessIdsAsync(resource);
            return !now.Contains(pid) && now.Count == before[resource].Length;
        }, $"{resource} to be started again", s_recovery);
        await topology.WaitForAllHealthyAsync(before, s_recovery);
        var healthyAfter = traffic.Now - killedAt;
        await traffic.WaitForServedAsync(traffic.Now);
        var recovered = traffic.Now;
        await AssertServedAfterRecoveryAsync(traffic, recovered);

        var after = await topology.ProcessIdsAsync();
        foreach (var name in FaultTopology.Processes.Where(n => n != resource))
        {
            Assert.True(before[name].SequenceEqual(after[name]), $"{name} was restarted too: {string.Join(",", before[name])} -> {string.Join(",", after[name])}");
        }
        Assert.DoesNotContain(pid, after[resource]);
        Assert.Equal(before[resource].Where(p => p != pid), after[resource].Intersect(before[resource]));
        return new Fault(resource, killedAt, healthyAfter, duringResult);
    }

    /// <summary>
    /// Recovered means recovered for everyone: new users sign up again (after a PostgreSQL restart every connection is
    /// new, and on this loaded machine opening one can pass the Api's 2 s connect timeout, a 503: so the first success
    /// counts, then ten in a row must follow), and the clients go on without another error.
    /// </summary>
    private async Task AssertServedAfterRecoveryAsync(SteadyTraffic traffic, double recovered)
    {
        using var anonymous = topology.App.CreateHttpClient("api");
        await WaitUntilAsync(async () => await FaultTopology.SignUpAsync(anonymous) == System.Net.HttpStatusCode.Created, "a sign-up to succeed");
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(System.Net.HttpStatusCode.Created, await FaultTopology.SignUpAsync(anonymous));
        }
        await traffic.WaitForServedAsync(recovered, times: 2);
        foreach (var client in (string[])["api", "chat", "grpc"])
        {
            var (errors, _) = traffic.Window(client, recovered);
            Assert.True(errors.Count == 0, $"{client} still failed after recovery: {Describe(errors)}");
        }
    }

    /// <summary>Every completed turn's two messages are stored, and every character the Api created reads back unchanged.</summary>
    private static async Task AssertNothingLostAsync(SteadyTraffic traffic)
    {
        await traffic.StopAsync();
        Assert.NotEmpty(traffic.CompletedTurns);
        foreach (var conversation in traffic.Conversations)
        {
            var transcript = await SteadyTraffic.TranscriptAsync(conversation);
            var completed = traffic.CompletedTurns.Where(t => t.SessionId == conversation.SessionId).ToList();
            Assert.True(transcript.Count(m => m.Role == "user") >= completed.Count, "a completed turn's user message is missing");
            foreach (var answer in completed.GroupBy(t => t.Answer))
            {
                Assert.True(transcript.Count(m => m.Role == "character" && m.Text == answer.Key) >= answer.Count(), $"a completed turn's answer is missing: {answer.Key}");
            }
        }
        foreach (var (id, (api, name)) in traffic.Created)
        {
            var character = await api.GetFromJsonAsync<JsonElement>($"/v1/characters/{id}");
            Assert.Equal(name, character.GetProperty("name").GetString());
        }
    }

    private async Task<string[]> EnqueueProbesAsync(JobQueue queue, int count, int sleepMs)
    {
        var ids = new string[count];
        for (var i = 0; i < count; i++)
        {
            ids[i] = $"probe:{Guid.NewGuid():N}";
            var id = ids[i];
            // Redis may be coming back: a producer retries until the queue takes the job.
            await WaitUntilAsync(async () =>
            {
                try
                {
                    await queue.EnqueueAsync("probe", id, JsonSerializer.Serialize(new { sleepMs }));
                    return true;
                }
                catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
                {
                    return false;
                }
            }, "the queue to take a job");
        }
        return ids;
    }

    private async Task<Guid> EndNewSessionAsync()
    {
        var conversation = await ChatTopology.StartAsync(topology.App, "concierge");
        using var api = conversation.Api;
        (await api.PostAsync($"/v1/sessions/{conversation.SessionId}/end", null)).EnsureSuccessStatusCode();
        return conversation.SessionId;
    }

    private static string[] SessionJobs(Guid sessionId) => [$"session.facts:{sessionId}", $"session.summary:{sessionId}"];

    /// <summary>Waits until each job has run, then checks that it ran once and was not dead-lettered.</summary>
    private async Task AssertRunOnceAsync(string[] jobs)
    {
        foreach (var job in jobs)
        {
            await WaitUntilAsync(async () => await topology.RunsAsync(job) > 0, $"{job} to run", TimeSpan.FromSeconds(60));
        }
        // Long enough for a second delivery of any job still pending (the visibility timeout is 3 s) to show.
        await WaitUntilAsync(async () => (await topology.Redis.GetDatabase().StreamPendingAsync(JobQueue.Stream, JobQueue.Group)).PendingMessageCount == 0,
            "every job to be acknowledged", TimeSpan.FromSeconds(60));
        foreach (var job in jobs)
        {
            Assert.Equal(1, await topology.RunsAsync(job));
        }
        var dead = await topology.Redis.GetDatabase().StreamRangeAsync(JobQueue.DeadLetter);
        Assert.DoesNotContain(dead, e => jobs.Contains((string?)e["id"]));
    }

    /// <summary>The figures of README's fault table, printed and kept in artifacts/faults/.</summary>
    private async Task Report(Fault fault, SteadyTraffic traffic, string? more = null)
    {
        var line = $"{fault.Resource}: healthy again {fault.HealthyAfter:0.0} s after the kill; " + (more is null ? "" : more + "; ")
            + string.Join("; ", ((string[])["api", "chat", "grpc"]).Select(client =>
            {
                var (errors, outage) = traffic.Window(client, fault.KilledAt);
                return errors.Count == 0 ? $"{client}: no error" : $"{client}: {Describe(errors)} for {outage:0.0} s";
            }));
        output.WriteLine(line);
        var folder = Directory.CreateDirectory(Path.Combine(Repository.Root, "artifacts", "faults")).FullName;
        await File.WriteAllTextAsync(Path.Combine(folder, $"{fault.Resource}.txt"), line + "\n");
    }

    private static string Describe(IEnumerable<Outcome> errors) =>
        string.Join(", ", errors.GroupBy(e => e.What).Select(g => $"{g.Key} x{g.Count().ToString(CultureInfo.InvariantCulture)}"));

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? limit = null)
    {
        var deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromSeconds(30));
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(100);
        }
    }
}
