using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Avatar.Tests.Hosting;
using Npgsql;
using StackExchange.Redis;

namespace Avatar.Tests.Faults;

/// <summary>
/// The whole AppHost, started once for the fault matrix: each fault kills one process of it and waits for everything
/// to be back before the next, so one topology serves them all (a topology per fault would cost a minute each).
/// </summary>
public sealed class FaultTopology : IAsyncLifetime
{
    /// <summary>Every process a fault may kill or must leave alone.</summary>
    public static readonly string[] Processes = ["postgres", "redis", "api", "a2f-inference", "a2f-controller", "chat", "worker"];

    public DistributedApplication App { get; private set; } = null!;

    public NpgsqlDataSource Db { get; private set; } = null!;

    public ConnectionMultiplexer Redis { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // Durable data stores, as deployed: an ephemeral Redis keeps no append-only file, so a kill would lose the queue
        // by design and "no job lost" could not be asked of it.
        var builder = await AvatarTesting.CreateBuilderAsync(args: "--Avatar:Ephemeral=false");
        // Steady traffic and the sign-ups after each fault come from one address, faster than the sign-up limit allows.
        builder.WithRateLimitsOutOfReach();
        // A killed worker's job is taken over once idle past the visibility timeout (30 s by default: long enough for
        // any real job); the sweep requeues the jobs of sessions ended while Redis was down (30 s by default).
        builder.Project("worker")
            .WithEnvironment("Worker__VisibilityTimeout", "00:00:03")
            .WithEnvironment("Worker__SweepInterval", "00:00:01");
        App = await builder.StartAsync(TimeSpan.FromSeconds(240), Processes);
        // The Api's first database connections, opened on a cold and loaded machine, can pass its 2 s connect timeout.
        using var anonymous = App.CreateHttpClient("api");
        for (var attempt = 0; await SignUpAsync(anonymous) != HttpStatusCode.Created; attempt++)
        {
            Assert.True(attempt < 100, "the Api never signed a user up");
            await Task.Delay(200);
        }
        Db = NpgsqlDataSource.Create((await App.GetConnectionStringAsync("avatardb"))!);
        Redis = await ConnectionMultiplexer.ConnectAsync((await App.GetConnectionStringAsync("redis"))! + ",abortConnect=false");
    }

    public async Task DisposeAsync()
    {
        await Redis.DisposeAsync();
        await Db.DisposeAsync();
        await App.DisposeAsync();
    }

    /// <summary>The process ids of every replica of every resource.</summary>
    public async Task<Dictionary<string, int[]>> ProcessIdsAsync()
    {
        var ids = new Dictionary<string, int[]>();
        foreach (var name in Processes)
        {
            ids[name] = [.. (await App.ProcessIdsAsync(name)).Order()];
        }
        return ids;
    }

    /// <summary>
    /// Waits until every replica runs and is healthy again, then returns how long that took; fails past
    /// <paramref name="limit"/>.
    /// </summary>
    public async Task<TimeSpan> WaitForAllHealthyAsync(Dictionary<string, int[]> before, TimeSpan limit)
    {
        var watch = Stopwatch.StartNew();
        foreach (var name in Processes)
        {
            while ((await App.ProcessIdsAsync(name)).Count < before[name].Length)
            {
                Assert.True(watch.Elapsed < limit, $"{name} did not come back within {limit.TotalSeconds} s");
                await Task.Delay(250);
            }
            using var deadline = new CancellationTokenSource(limit - watch.Elapsed);
            await App.WaitForEveryReplicaHealthyAsync(name, deadline.Token);
        }
        return watch.Elapsed;
    }

    /// <summary>Kills (-9) the one process of <paramref name="name"/>, or the first of its replicas, and returns its id.</summary>
    public async Task<int> KillAsync(string name)
    {
        var pid = (await App.ProcessIdsAsync(name))[0];
        AvatarTesting.Kill(pid);
        return pid;
    }

    /// <summary>How many times the worker ran the job: its job_runs ledger row is written in the job's own transaction.</summary>
    public async Task<long> RunsAsync(string jobId)
    {
        await using var command = Db.CreateCommand("SELECT count(*) FROM job_runs WHERE job_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = jobId });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public static async Task<HttpStatusCode> SignUpAsync(HttpClient anonymous)
    {
        using var response = await anonymous.PostAsJsonAsync("/v1/users", new { name = "Someone", email = $"{Guid.NewGuid():N}@example.com" });
        return response.StatusCode;
    }

    /// <summary>When the job's transaction committed.</summary>
    public async Task<DateTimeOffset> CompletedAtAsync(string jobId)
    {
        await using var command = Db.CreateCommand("SELECT completed_at FROM job_runs WHERE job_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = jobId });
        // timestamptz reads as a UTC DateTime.
        return new DateTimeOffset((DateTime)(await command.ExecuteScalarAsync())!);
    }
}

/// <summary>
/// The fault matrix's collection, run beside the others. Run alone after them, it came before the flood test, which then
/// missed its 2x bound in two of three clean-clone runs. Its bystander's UNAVAILABLE in CI (killing chat cost an A2F
/// client one) was most likely the controller's 0.8 s for inference to accept a stream, missed on loaded cores: the same
/// error failed other bystanders here, and tests now give it 3 s (AvatarTesting.CreateBuilderAsync).
/// </summary>
[CollectionDefinition(Name)]
public sealed class FaultCollection : ICollectionFixture<FaultTopology>
{
    public const string Name = "faults";
}
