using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Avatar.Hosting;
using Npgsql;

namespace Avatar.Bench;

/// <summary>
/// Load and soak on the AppHost's chat topology (Release builds, the embedded engine, espeak-ng): the Api's
/// authenticated reads and writes at rising concurrency beside a bare Kestrel + Npgsql peer on the same database, the
/// conversations kept in real time (ChatBench's measure), then a soak at 70% of them with memory, threads and
/// connections sampled (artifacts/bench/load-soak.svg). AVATAR_SOAK_SECONDS sets the soak's length (600 by default).
/// </summary>
public static class LoadBench
{
    private static readonly int[] s_concurrency = [1, 4, 16, 64];
    private static readonly TimeSpan s_step = TimeSpan.FromSeconds(5);
    private static readonly string[] s_watched = ["api", "chat", "a2f-controller", "a2f-inference"];

    public static async Task<IReadOnlyList<BenchResult>> RunAsync()
    {
        await using var app = await BenchApp.StartAsync();
        var api = app.GetEndpoint("api");
        var chat = app.GetEndpoint("chat");
        var results = new List<BenchResult>();

        // One replica, straight to its own port: the peer is one process without the orchestrator's proxy in front.
        var replica = new Uri((await SnapshotsAsync(app, "api")).Select(s => s.EnvironmentVariables.First(e => e.Name == "ASPNETCORE_URLS").Value!).First());
        var connectionString = (await app.GetConnectionStringAsync("avatardb"))!;
        using var peer = StartPeer(connectionString, out var peerPort);
        var (key, characterId) = await UserWithCharacterAsync(api);
        using var ours = Client(replica, key);
        using var theirs = Client(new Uri($"http://127.0.0.1:{peerPort}"), key);
        var read = $"/v1/characters/{characterId}";
        Func<HttpClient, Task<HttpResponseMessage>> get = http => http.GetAsync(read);
        Func<HttpClient, Task<HttpResponseMessage>> post = http =>
            http.PostAsJsonAsync("/v1/characters", new { name = "Load", kind = "tarot", persona = "Reads the cards.", voice = "en-us" });
        foreach (var client in (HttpClient[])[ours, theirs])
        {
            await HammerAsync(client, get, 4, TimeSpan.FromSeconds(2)); // JIT and pools warm
            await HammerAsync(client, post, 4, TimeSpan.FromSeconds(1));
        }
        var errors = 0;
        foreach (var (what, send) in (ValueTuple<string, Func<HttpClient, Task<HttpResponseMessage>>>[])[("read", get), ("write", post)])
        {
            foreach (var concurrency in s_concurrency)
            {
                var a = await HammerAsync(ours, send, concurrency, s_step);
                var b = await HammerAsync(theirs, send, concurrency, s_step);
                errors += a.Errors + b.Errors;
                Console.WriteLine($"  {what} x{concurrency}: api {a.Rate:0} req/s p99 {a.P99:0.0} ms ({a.Errors} errors), bare {b.Rate:0} req/s p99 {b.P99:0.0} ms ({b.Errors} errors)");
                results.Add(BenchResult.Versus($"api {what}, {concurrency} concurrent", "req/s", a.Rate, "bare Kestrel + Npgsql", b.Rate));
                results.Add(BenchResult.Versus($"api {what}, {concurrency} concurrent, p99", "ms", a.P99, "bare Kestrel + Npgsql", b.P99));
            }
        }
        results.Add(new BenchResult("api and peer requests that failed", "count", errors));

        var capacity = await ChatBench.SustainedConversationsAsync(api, chat);
        results.Add(new BenchResult("concurrent conversations kept in real time", "count", capacity));

        var seconds = int.TryParse(Environment.GetEnvironmentVariable("AVATAR_SOAK_SECONDS"), CultureInfo.InvariantCulture, out var s) ? s : 600;
        var soakConversations = Math.Max(1, (int)Math.Floor(capacity * 0.7));
        results.AddRange(await SoakAsync(app, api, chat, ours, get, soakConversations, TimeSpan.FromSeconds(seconds)));
        return results;
    }

    private sealed record Sample(double At, string Process, double RssMb, int Threads, int Sockets);

    /// <summary>
    /// Conversations taking turn after turn (a second's pause between, as a user reading) and one Api client reading,
    /// for <paramref name="length"/>, sampling each service's resident memory, threads and open sockets, and
    /// PostgreSQL's connections.
    /// </summary>
    private static async Task<List<BenchResult>> SoakAsync(DistributedApplication app, Uri api, Uri chat, HttpClient ours,
        Func<HttpClient, Task<HttpResponseMessage>> get, int conversations, TimeSpan length)
    {
        Console.WriteLine($"  soak: {conversations} conversations and one Api reader for {length.TotalSeconds:0} s");
        var processes = new List<(string Name, int Pid)>();
        foreach (var name in s_watched)
        {
            var pids = (await SnapshotsAsync(app, name)).Select(s => Convert.ToInt32(s.Properties.First(p => p.Name == "executable.pid").Value, CultureInfo.InvariantCulture)).ToList();
            processes.AddRange(pids.Select((pid, i) => (pids.Count > 1 ? $"{name}-{i}" : name, pid)));
        }
        await using var db = NpgsqlDataSource.Create((await app.GetConnectionStringAsync("avatardb"))!);
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource(length);
        var lateness = new List<double>();
        var turns = 0;
        var failures = 0;
        var talkers = Enumerable.Range(0, conversations).Select(async _ =>
        {
            using var conversation = await ChatBench.ConversationAsync(api, chat);
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var turn = await conversation.TurnAsync();
                    lock (lateness)
                    {
                        lateness.AddRange(turn.LatenessMs);
                        turns++;
                    }
                }
                catch (InvalidOperationException)
                {
                    Interlocked.Increment(ref failures);
                }
                await Task.Delay(1000, CancellationToken.None);
            }
        }).ToList();
        var reads = 0;
        var reader = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var response = await get(ours);
                Interlocked.Increment(ref reads);
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref failures);
                }
                await Task.Delay(20, CancellationToken.None);
            }
        });

        var samples = new List<Sample>();
        var connections = new List<(double At, int Count)>();
        var interval = TimeSpan.FromSeconds(Math.Clamp(length.TotalSeconds / 60, 1, 10));
        Dictionary<string, double>? earlyHeap = null, lateHeap = null;
        while (!stop.IsCancellationRequested)
        {
            var at = clock.Elapsed.TotalSeconds;
            // The live managed heap once past the first tenth and again near the end, both under the soak's load.
            if (earlyHeap is null && at >= length.TotalSeconds * 0.1)
            {
                earlyHeap = await LiveHeapsAsync(processes);
            }
            else if (lateHeap is null && at >= length.TotalSeconds * 0.9)
            {
                lateHeap = await LiveHeapsAsync(processes);
            }
            samples.AddRange(processes.Select(p => Read(at, p.Name, p.Pid)));
            await using (var count = db.CreateCommand("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"))
            {
                connections.Add((at, (int)(long)(await count.ExecuteScalarAsync())!));
            }
            await Task.WhenAny(Task.Delay(interval), Task.Delay(Timeout.Infinite, stop.Token));
        }
        await Task.WhenAll([.. talkers, reader]);

        var results = new List<BenchResult>
        {
            new("soak length", "s", Math.Round(length.TotalSeconds)),
            new("soak conversations (70% of capacity)", "count", conversations),
            new("soak turns completed", "count", turns),
            new("soak api reads", "count", reads),
            new("soak failed turns and reads", "count", failures),
            new("soak audio and frames lateness, p99", "ms", lateness.Count == 0 ? 0 : ChatBench.Percentile(lateness, 99)),
        };
        // Growth from early in the soak (past its first tenth, once pools and JIT have settled) to its last sixth.
        // Resident memory includes what the server GC keeps committed for its allocation budgets, which follows the
        // load's bursts and is handed back only when the GC decides; the live managed heap after a full collection is
        // what a leak grows, so the bar is on that one, and RSS is reported beside it.
        var growths = new List<double>();
        var heapGrowths = new List<double>();
        foreach (var (name, _) in processes)
        {
            if (earlyHeap is not null && lateHeap is not null)
            {
                var heapGrowth = Growth(earlyHeap[name], lateHeap[name]);
                heapGrowths.Add(heapGrowth);
                results.Add(new BenchResult($"soak {name} live managed heap, early / late", "MB", Math.Round(lateHeap[name], 1), "early in the soak", Math.Round(earlyHeap[name], 1)));
                results.Add(new BenchResult($"soak {name} live managed heap growth", "%", heapGrowth));
            }
            var series = samples.Where(x => x.Process == name).ToList();
            var early = Mean(series.Where(x => x.At >= length.TotalSeconds * 0.1 && x.At <= length.TotalSeconds * 0.25).Select(x => x.RssMb));
            var late = Mean(series.Where(x => x.At >= length.TotalSeconds * 5 / 6).Select(x => x.RssMb));
            var growth = Growth(early, late);
            growths.Add(growth);
            results.Add(new BenchResult($"soak {name} RSS, early / late", "MB", Math.Round(late, 1), "early in the soak", Math.Round(early, 1)));
            results.Add(new BenchResult($"soak {name} RSS growth", "%", growth));
            results.Add(new BenchResult($"soak {name} threads, first / last sample", "count", series[^1].Threads, "first sample", series[0].Threads));
            results.Add(new BenchResult($"soak {name} open sockets, first / last sample", "count", series[^1].Sockets, "first sample", series[0].Sockets));
        }
        if (heapGrowths.Count > 0)
        {
            results.Add(new BenchResult("soak largest live managed heap growth (bar: under 10%)", "%", heapGrowths.Max()));
        }
        results.Add(new BenchResult("soak largest RSS growth", "%", growths.Max()));
        results.Add(new BenchResult("soak PostgreSQL connections, first / last sample", "count", connections[^1].Count, "first sample", connections[0].Count));
        var svg = Path.Combine(BenchReport.RepositoryRoot(), "artifacts", "bench", "load-soak.svg");
        Directory.CreateDirectory(Path.GetDirectoryName(svg)!);
        await File.WriteAllTextAsync(svg, Chart(samples, connections, length.TotalSeconds));
        Console.WriteLine($"wrote {svg}");
        return results;
    }

    private static double Mean(IEnumerable<double> values) => values.DefaultIfEmpty(0).Average();

    /// <summary>From <paramref name="early"/> to <paramref name="late"/> in percent, to a tenth.</summary>
    private static double Growth(double early, double late) => Math.Round((late - early) / early * 100, 1);

    /// <summary>
    /// Each process's live managed heap in MB, from a GC heap dump (dotnet-gcdump, a local tool): the dump runs a full
    /// blocking collection first, so it counts only what is still referenced.
    /// </summary>
    private static async Task<Dictionary<string, double>> LiveHeapsAsync(List<(string Name, int Pid)> processes)
    {
        var heaps = new Dictionary<string, double>();
        foreach (var (name, pid) in processes)
        {
            var file = Path.Combine(Path.GetTempPath(), $"soak-{pid}-{Guid.NewGuid():N}.gcdump");
            try
            {
                await ToolAsync("collect", "-p", pid.ToString(CultureInfo.InvariantCulture), "-o", file);
                // The report's first line: "     20,090,961  GC Heap bytes".
                var report = await ToolAsync("report", file);
                var line = report.Split('\n').First(l => l.Contains("GC Heap bytes", StringComparison.Ordinal));
                heaps[name] = long.Parse(line.Trim().Split(' ')[0], NumberStyles.AllowThousands, CultureInfo.InvariantCulture) / 1048576.0;
            }
            finally
            {
                File.Delete(file);
            }
        }
        return heaps;
    }

    private static async Task<string> ToolAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet", ["tool", "run", "dotnet-gcdump", .. args])
        {
            WorkingDirectory = BenchReport.RepositoryRoot(),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var tool = Process.Start(info)!;
        var output = tool.StandardOutput.ReadToEndAsync();
        var error = tool.StandardError.ReadToEndAsync();
        await tool.WaitForExitAsync();
        return tool.ExitCode == 0 ? await output : throw new InvalidOperationException($"dotnet-gcdump {args[0]} failed: {await error}{await output}");
    }

    /// <summary>One process's resident memory, threads and open sockets, from /proc.</summary>
    private static Sample Read(double at, string name, int pid)
    {
        var status = File.ReadAllLines($"/proc/{pid}/status");
        double Field(string field) => double.Parse(status.First(l => l.StartsWith(field, StringComparison.Ordinal))[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        var sockets = 0;
        foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
        {
            try
            {
                sockets += new FileInfo(fd).LinkTarget?.StartsWith("socket:", StringComparison.Ordinal) == true ? 1 : 0;
            }
            catch (IOException)
            {
                // Closed between the listing and the read.
            }
        }
        return new Sample(at, name, Field("VmRSS:") / 1024, (int)Field("Threads:"), sockets);
    }

    /// <summary>Three small line charts (memory, threads, sockets and PostgreSQL connections) over the soak, as SVG.</summary>
    private static string Chart(List<Sample> samples, List<(double At, int Count)> connections, double seconds)
    {
        const int Width = 900, Height = 200, Left = 60, Top = 30, Gap = 60;
        string[] colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];
        var series = samples.GroupBy(s => s.Process).ToList();
        (string Title, Func<Sample, double> Value, List<(string Name, List<(double X, double Y)> Points)> Lines)[] charts =
        [
            ("resident memory (MB)", s => s.RssMb, []),
            ("threads", s => s.Threads, []),
            ("open sockets; PostgreSQL connections", s => s.Sockets, [("postgres connections", [.. connections.Select(c => (c.At, (double)c.Count))])]),
        ];
        var svg = new StringBuilder();
        var total = charts.Length * (Height + Gap) + Top;
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width + Left + 220}\" height=\"{total}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        for (var c = 0; c < charts.Length; c++)
        {
            var (title, value, extra) = charts[c];
            List<(string Name, List<(double X, double Y)> Points)> lines = [.. series.Select(g => (g.Key, g.Select(s => (s.At, value(s))).ToList())), .. extra];
            var top = Top + c * (Height + Gap);
            var max = Math.Max(1, lines.SelectMany(l => l.Points).Max(p => p.Y)) * 1.1;
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"{top - 10}\" font-weight=\"bold\">{title}, over {seconds:0} s</text>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{Left}\" y=\"{top}\" width=\"{Width}\" height=\"{Height}\" fill=\"none\" stroke=\"#999\"/>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 5}\" y=\"{top + 10}\" text-anchor=\"end\">{max:0}</text><text x=\"{Left - 5}\" y=\"{top + Height}\" text-anchor=\"end\">0</text>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + Width}\" y=\"{top + Height + 15}\" text-anchor=\"end\">{seconds:0} s</text>\n");
            for (var i = 0; i < lines.Count; i++)
            {
                var points = string.Join(" ", lines[i].Points.Select(p =>
                    string.Create(CultureInfo.InvariantCulture, $"{Left + p.X / seconds * Width:0.#},{top + Height - p.Y / max * Height:0.#}")));
                var colour = colours[i % colours.Length];
                svg.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" points=\"{points}\"/>\n");
                svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + Width + 10}\" y=\"{top + 15 + i * 16}\" fill=\"{colour}\">{lines[i].Name}</text>\n");
            }
        }
        return svg.Append("</svg>\n").ToString();
    }

    private static async Task<(int Rate, double P99, int Errors)> HammerAsync(HttpClient client, Func<HttpClient, Task<HttpResponseMessage>> send,
        int concurrency, TimeSpan duration)
    {
        var latencies = new List<double>();
        var errors = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            var mine = new List<double>();
            while (clock.Elapsed < duration)
            {
                var started = Stopwatch.GetTimestamp();
                using var response = await send(client);
                await response.Content.LoadIntoBufferAsync();
                mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref errors);
                }
            }
            lock (latencies)
            {
                latencies.AddRange(mine);
            }
        }));
        return ((int)(latencies.Count / clock.Elapsed.TotalSeconds), ChatBench.Percentile(latencies, 99), errors);
    }

    private static HttpClient Client(Uri address, string key)
    {
        var client = new HttpClient { BaseAddress = address };
        client.DefaultRequestHeaders.Add("X-Api-Key", key);
        return client;
    }

    private static async Task<(string Key, Guid CharacterId)> UserWithCharacterAsync(Uri api)
    {
        using var http = new HttpClient { BaseAddress = api };
        var user = await (await http.PostAsJsonAsync("/v1/users", new { name = "Load", email = $"{Guid.NewGuid():N}@example.com" }))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>();
        var key = user.GetProperty("apiKey").GetString()!;
        http.DefaultRequestHeaders.Add("X-Api-Key", key);
        var character = await (await http.PostAsJsonAsync("/v1/characters", new { name = "Iris", kind = "tarot", persona = "Calm.", voice = "en-us" }))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>();
        return (key, character.GetProperty("id").GetGuid());
    }

    private static Process StartPeer(string connectionString, out int port)
    {
        var info = new ProcessStartInfo("dotnet", [typeof(LoadBench).Assembly.Location, LoadPeer.Mode])
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
        };
        // As the Api runs: the Web SDK turns server GC on. The connection string stays off the command line.
        info.Environment["DOTNET_gcServer"] = "1";
        info.Environment["ConnectionStrings__avatardb"] = connectionString;
        var process = Process.Start(info)!;
        var line = process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("the load peer did not start");
        port = int.Parse(line["listening ".Length..], CultureInfo.InvariantCulture);
        return process;
    }

    /// <summary>The latest snapshot of each running replica of a resource.</summary>
    private static async Task<List<CustomResourceSnapshot>> SnapshotsAsync(DistributedApplication app, string name)
    {
        // WatchAsync replays the latest snapshot of every resource first, then waits: take the replay.
        var latest = new Dictionary<string, CustomResourceSnapshot>();
        using var quiet = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        try
        {
            await foreach (var update in app.ResourceNotifications.WatchAsync(quiet.Token))
            {
                if (update.Resource.Name == name)
                {
                    latest[update.ResourceId] = update.Snapshot;
                }
                quiet.CancelAfter(TimeSpan.FromMilliseconds(100));
            }
        }
        catch (OperationCanceledException)
        {
        }
        return [.. latest.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Value).Where(s => s.State?.Text == KnownResourceStates.Running)];
    }
}
