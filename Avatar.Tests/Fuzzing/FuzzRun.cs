using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Avatar.Tests.Chat;
using Avatar.Tests.Hosting;
using Xunit.Abstractions;

namespace Avatar.Tests.Fuzzing;

/// <summary>
/// The three fuzzers share one topology: chat's is the whole request path (api, chat, the A2F pair, PostgreSQL), and one
/// start instead of three keeps the suite's time down. Being one collection, they also run one after another, so each
/// measures the memory of its own processes undisturbed.
/// </summary>
[CollectionDefinition(Name)]
public sealed class FuzzingCollection : ICollectionFixture<FuzzTopology>
{
    public const string Name = "Fuzzing";
}

/// <summary>Chat's topology with the rate limits out of reach: thousands of cases from one address would meet them, and
/// a 429 or a rate_limited frame stops a case before the code it fuzzes.</summary>
public sealed class FuzzTopology : ChatTopology
{
    protected override void Configure(IDistributedApplicationTestingBuilder builder) => builder.WithRateLimitsOutOfReach();
}

/// <summary>
/// Runs a fuzzer: a warm-up of its first cases, so that the memory baseline already holds JIT'd code and warm pools,
/// then the rest, each lane on its own, then the checks: no failed case, and the processes unharmed.
/// </summary>
internal static class FuzzRun
{
    // A tenth of the run, at full concurrency: pools that grow with concurrency (ONNX Runtime's arena, Kestrel's and
    // gRPC's buffers, the large object heap for the largest messages) reach their working size before the baseline.
    private static int WarmUpCases => Math.Max(1, FuzzInput.Count / 10);

    /// <summary>Runs every case on <paramref name="lanes"/> lanes; a case returns null, or what went wrong with its input.</summary>
    public static Task RunAsync(DistributedApplication app, ITestOutputHelper output, string fuzzer, string[] resources, int lanes,
        Func<int, FuzzInput, Task<string?>> run) =>
        RunLanesAsync(app, output, fuzzer, resources, lanes, async (cases, failures) =>
        {
            foreach (var i in cases)
            {
                if (await run(i, FuzzInput.ForCase(i)) is { } failure)
                {
                    failures.Enqueue($"case {i}: {failure}");
                }
            }
        });

    /// <summary>Runs every case, a lane taking every <paramref name="lanes"/>th: for fuzzers whose lane holds state (a socket).</summary>
    public static async Task RunLanesAsync(DistributedApplication app, ITestOutputHelper output, string fuzzer, string[] resources, int lanes,
        Func<IReadOnlyList<int>, ConcurrentQueue<string>, Task> lane)
    {
        output.WriteLine($"{fuzzer}: {FuzzInput.Count} cases, seed {FuzzInput.Seed}, {lanes} lanes (replay: {FuzzInput.Replay})");
        var failures = new ConcurrentQueue<string>();
        var warmUp = WarmUpCases;
        await AcrossLanes(0, warmUp);
        var watch = await ProcessWatch.StartAsync(app, output, resources);
        var clock = Stopwatch.StartNew();
        await AcrossLanes(warmUp, FuzzInput.Count);
        output.WriteLine($"{fuzzer}: {FuzzInput.Count - warmUp} cases after the warm-up in {clock.Elapsed.TotalSeconds:0.0} s");
        AssertNone(fuzzer, failures);
        await watch.AssertUnharmedAsync();

        Task AcrossLanes(int from, int to) => Task.WhenAll(Enumerable.Range(0, lanes)
            .Select(l => lane([.. Enumerable.Range(from, to - from).Where(i => i % lanes == l)], failures)));
    }

    private static void AssertNone(string fuzzer, IReadOnlyCollection<string> failures) => Assert.True(failures.Count == 0,
        $"{fuzzer}: {failures.Count} of {FuzzInput.Count} cases failed; replay with {FuzzInput.Replay}. The first:\n" + string.Join("\n", failures.Take(5)));

    /// <summary>An input as a failure message shows it: control characters escaped, long ones cut.</summary>
    public static string Show(string text)
    {
        var quoted = FuzzInput.Quote(text.Length > 400 ? text[..400] : text);
        return text.Length > 400 ? $"{quoted}... ({text.Length} chars)" : quoted;
    }
}

/// <summary>
/// The processes of some resources, watched across a fuzzer's run: none may crash or restart (same process ids), and
/// memory must come back near where it was once the run is over.
/// </summary>
internal sealed class ProcessWatch
{
    // The baseline is taken after the warm-up, so JIT'd code and pools sized for this concurrency are already in it. What
    // is left to allow for is the garbage collector's slack: a server GC (two heaps here) collects when its budgets say so,
    // not when a run ends, and keeps what it freed for a while; over 9,000 cases it measured 20 to 70 MiB on this machine.
    // A leak of 11 KiB or more per case (100 MiB over the run) fails it; a smaller one would need a forced collection first.
    private const long MarginBytes = 96L << 20;

    private readonly DistributedApplication _app;
    private readonly ITestOutputHelper _output;
    private readonly Dictionary<string, IReadOnlyList<int>> _pids;
    private readonly Dictionary<int, long> _baseline;
    private readonly Dictionary<int, string> _names;

    private ProcessWatch(DistributedApplication app, ITestOutputHelper output, Dictionary<string, IReadOnlyList<int>> pids)
    {
        _app = app;
        _output = output;
        _pids = pids;
        _baseline = pids.Values.SelectMany(p => p).ToDictionary(pid => pid, Rss);
        _names = pids.SelectMany(p => p.Value.Select(pid => (pid, p.Key))).ToDictionary(p => p.pid, p => p.Key);
    }

    public static async Task<ProcessWatch> StartAsync(DistributedApplication app, ITestOutputHelper output, params string[] resources)
    {
        var pids = new Dictionary<string, IReadOnlyList<int>>();
        foreach (var resource in resources)
        {
            pids[resource] = await app.ProcessIdsAsync(resource);
            Assert.NotEmpty(pids[resource]);
        }
        return new ProcessWatch(app, output, pids);
    }

    public async Task AssertUnharmedAsync()
    {
        foreach (var (resource, before) in _pids)
        {
            Assert.Equal(before.Order(), (await _app.ProcessIdsAsync(resource)).Order());
        }
        // A short settle: the last requests' buffers are garbage now, and the collector gets a few chances to return them.
        var deadline = Stopwatch.StartNew();
        var over = _baseline.Keys.ToList();
        while (true)
        {
            over = [.. over.Where(pid => Rss(pid) > Allowed(pid))];
            if (over.Count == 0 || deadline.Elapsed > TimeSpan.FromSeconds(10))
            {
                break;
            }
            await Task.Delay(500);
        }
        foreach (var (pid, before) in _baseline)
        {
            _output.WriteLine($"{_names[pid]} (pid {pid}): RSS {before >> 20} MiB before, {Rss(pid) >> 20} MiB after ({deadline.Elapsed.TotalSeconds:0.0} s settle)");
        }
        Assert.True(over.Count == 0, string.Join("; ", over.Select(pid =>
            $"{_names[pid]} (pid {pid}) holds {Rss(pid) >> 20} MiB, from {_baseline[pid] >> 20} MiB before the run (allowed {Allowed(pid) >> 20} MiB)")));
    }

    private long Allowed(int pid) => _baseline[pid] + MarginBytes;

    /// <summary>The resident set of a process, from /proc/&lt;pid&gt;/status (VmRSS, in kB).</summary>
    private static long Rss(int pid) => File.ReadLines($"/proc/{pid}/status")
        .Where(line => line.StartsWith("VmRSS:", StringComparison.Ordinal))
        .Select(line => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024)
        .Single();
}
