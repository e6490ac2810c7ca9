using System.Diagnostics;

namespace Avatar.Bench;

/// <summary>
/// <c>make run</c> as a developer lives it: the AppHost (Release, already built) started as <c>make run</c> starts it,
/// timed from the command to "Avatar is running" (every resource healthy, migrations done), then from SIGTERM to the
/// last process gone. The first run initialises PostgreSQL's data folder (cold); the others reuse it (warm). The
/// dashboard and the services take their usual ports, so nothing else may hold them. No peer: the figures stand alone.
/// </summary>
public static class AppHostBench
{
    private const int WarmRuns = 5;

    public static async Task<IReadOnlyList<BenchResult>> RunAsync()
    {
        var data = Directory.CreateTempSubdirectory("avatar-bench-apphost-").FullName;
        File.SetUnixFileMode(data, (UnixFileMode)0x1ED); // rwxr-xr-x: as root, PostgreSQL runs as postgres and must reach it
        try
        {
            var (cold, _) = await RunOnceAsync(data);
            var ready = new List<double>();
            var stop = new List<double>();
            for (var i = 0; i < WarmRuns; i++)
            {
                var (up, down) = await RunOnceAsync(data);
                ready.Add(up);
                stop.Add(down);
            }
            ready.Sort();
            stop.Sort();
            return
            [
                new("make run to every resource healthy, cold (first run: initdb)", "s", Math.Round(cold, 2)),
                new($"make run to every resource healthy, warm, median of {WarmRuns}", "s", Math.Round(ready[WarmRuns / 2], 2)),
                new($"make run to every resource healthy, warm, slowest of {WarmRuns}", "s", Math.Round(ready[^1], 2)),
                new($"SIGTERM to every process gone, median of {WarmRuns}", "s", Math.Round(stop[WarmRuns / 2], 2)),
            ];
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    private static async Task<(double Ready, double Stopped)> RunOnceAsync(string data)
    {
        var root = BenchReport.RepositoryRoot();
        var info = new ProcessStartInfo("dotnet",
            ["run", "--project", Path.Combine(root, "Avatar.AppHost"), "-c", "Release", "--no-build", "--", $"--Avatar:DataDirectory={data}"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = root,
        };
        var marker = Guid.NewGuid().ToString("N");
        info.Environment["AVATAR_BENCH_MARKER"] = marker;
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.Contains("Avatar is running", StringComparison.Ordinal) == true)
            {
                ready.TrySetResult();
            }
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await ready.Task.WaitAsync(TimeSpan.FromMinutes(3));
        var up = watch.Elapsed.TotalSeconds;

        // dotnet run hands SIGTERM on to the AppHost, as when make is stopped.
        watch.Restart();
        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }
        while (Marked(marker) > 0 && watch.Elapsed < TimeSpan.FromMinutes(1))
        {
            await Task.Delay(50);
        }
        return (up, watch.Elapsed.TotalSeconds);
    }

    /// <summary>Live processes that inherited the marker: the AppHost, DCP and everything they started.</summary>
    private static int Marked(string marker)
    {
        var needle = System.Text.Encoding.ASCII.GetBytes("AVATAR_BENCH_MARKER=" + marker);
        var count = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                if (int.TryParse(Path.GetFileName(dir), out _) && File.ReadAllBytes(Path.Combine(dir, "environ")).AsSpan().IndexOf(needle) >= 0
                    && !File.ReadAllText(Path.Combine(dir, "stat")).Split(") ")[1].StartsWith('Z'))
                {
                    count++;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }
        return count;
    }
}
