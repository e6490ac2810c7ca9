using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Avatar.Tests.Hosting;

/// <summary>The AppHost as a user runs it: a process of its own, stopped with SIGTERM, or killed outright.</summary>
public sealed class AppHostProcessTests
{
    [Fact]
    public async Task SigtermStopsEverythingWithinSecondsAndAKilledAppHostsLeftoversAreStoppedByTheNextRun()
    {
        var state = Path.Combine(Path.GetTempPath(), "avatar-tests", "apphost-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(state);
        File.SetUnixFileMode(state, (UnixFileMode)0x1ED);
        await using var killed = new RunningAppHost(state);
        await using var next = new RunningAppHost(state);
        try
        {
            await killed.StartAndWaitAsync();
            Signal(killed.Process.Id, "KILL");
            await killed.Process.WaitForExitAsync();
            Assert.NotEmpty(killed.MarkedProcesses()); // nothing could stop them: the AppHost died at once

            await next.StartAndWaitAsync();
            Assert.Empty(killed.MarkedProcesses());

            Signal(next.Process.Id, "TERM");
            await next.Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
            Assert.Equal(0, next.Process.ExitCode);
            Assert.Empty(next.MarkedProcesses());
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    private static void Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    /// <summary>An AppHost process whose every descendant inherits a marker variable, so they can be found in /proc.</summary>
    private sealed class RunningAppHost(string state) : IAsyncDisposable
    {
        private readonly string _marker = "AVATAR_TEST_MARKER=" + Guid.NewGuid().ToString("N");
        private readonly StringBuilder _output = new();
        private readonly TaskCompletionSource _running = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Process Process { get; private set; } = null!;

        public async Task StartAndWaitAsync()
        {
            var info = new ProcessStartInfo("dotnet")
            {
                ArgumentList = { new Projects.Avatar_AppHost().AssemblyPath, $"--Avatar:StateDirectory={state}", "--Avatar:RandomizePorts=true" },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            info.Environment[_marker.Split('=')[0]] = _marker.Split('=')[1];
            Process = Process.Start(info)!;
            Process.OutputDataReceived += (_, e) => Record(e.Data);
            Process.ErrorDataReceived += (_, e) => Record(e.Data);
            Process.BeginOutputReadLine();
            Process.BeginErrorReadLine();
            try
            {
                await _running.Task.WaitAsync(TimeSpan.FromSeconds(180));
            }
            catch (TimeoutException)
            {
                lock (_output)
                {
                    Assert.Fail("the AppHost did not report every resource running:\n" + _output);
                }
            }
            // The six service processes at least; postgres and redis-server rewrite their environment block for their
            // process titles, so they may not show the marker (the AppHost's own registry stops them either way).
            var count = MarkedProcesses().Count;
            Assert.True(count >= 6, $"every service should have a process; found {count}");
        }

        private void Record(string? line)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
            if (line?.StartsWith("Avatar is running", StringComparison.Ordinal) == true)
            {
                _running.TrySetResult();
            }
        }

        /// <summary>Every live process that inherited the marker: the AppHost's children and all of theirs.</summary>
        public List<int> MarkedProcesses()
        {
            var needle = Encoding.ASCII.GetBytes(_marker);
            var pids = new List<int>();
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId || (Process is { HasExited: false } && pid == Process.Id))
                {
                    continue;
                }
                try
                {
                    if (File.ReadAllBytes(Path.Combine(dir, "environ")).AsSpan().IndexOf(needle) >= 0 && !IsZombie(dir))
                    {
                        pids.Add(pid);
                    }
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // Gone, or not ours to read.
                }
            }
            return pids;
        }

        private static bool IsZombie(string dir) => File.ReadAllText(Path.Combine(dir, "stat")).Split(") ")[1].StartsWith('Z');

        public ValueTask DisposeAsync()
        {
            if (Process is { HasExited: false })
            {
                Process.Kill(entireProcessTree: true);
            }
            foreach (var pid in MarkedProcesses())
            {
                Signal(pid, "KILL");
            }
            Process?.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
