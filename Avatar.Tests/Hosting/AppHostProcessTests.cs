using System.Diagnostics;
using System.Text;

namespace Avatar.Tests.Hosting;

/// <summary>The AppHost as a user runs it: a process of its own, stopped with SIGTERM.</summary>
public sealed class AppHostProcessTests
{
    [Fact]
    public async Task SigtermStopsTheWholeTopologyWithinSecondsAndLeavesNoProcessBehind()
    {
        var marker = Guid.NewGuid().ToString("N");
        var state = Path.Combine(Path.GetTempPath(), "avatar-tests", "apphost-" + marker[..8]);
        Directory.CreateDirectory(state);
        File.SetUnixFileMode(state, (UnixFileMode)0x1ED);
        var info = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { new Projects.Avatar_AppHost().AssemblyPath, $"--Avatar:StateDirectory={state}", "--Avatar:RandomizePorts=true" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["AVATAR_TEST_MARKER"] = marker },
        };
        using var appHost = Process.Start(info)!;
        var output = new StringBuilder();
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        appHost.OutputDataReceived += (_, e) =>
        {
            lock (output) { output.AppendLine(e.Data); }
            if (e.Data?.StartsWith("Avatar is running", StringComparison.Ordinal) == true) { running.TrySetResult(); }
        };
        appHost.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        appHost.BeginOutputReadLine();
        appHost.BeginErrorReadLine();
        try
        {
            await running.Task.WaitAsync(TimeSpan.FromSeconds(180));
            Assert.True(ProcessesMarkedWith(marker).Count >= 9, "every resource should be running: " + Snapshot(output));

            using (var kill = Process.Start("kill", ["-TERM", appHost.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) { await kill.WaitForExitAsync(); }
            await appHost.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));

            Assert.Equal(0, appHost.ExitCode);
            Assert.Empty(ProcessesMarkedWith(marker));
        }
        finally
        {
            if (!appHost.HasExited)
            {
                appHost.Kill(entireProcessTree: true);
            }
            foreach (var pid in ProcessesMarkedWith(marker))
            {
                try { Process.GetProcessById(pid).Kill(); } catch (ArgumentException) { }
            }
            Directory.Delete(state, recursive: true);
        }
    }

    private static string Snapshot(StringBuilder output)
    {
        lock (output) { return output.ToString(); }
    }

    /// <summary>Every process that inherited the marker: the AppHost's children and all of theirs.</summary>
    private static List<int> ProcessesMarkedWith(string marker)
    {
        var needle = Encoding.ASCII.GetBytes("AVATAR_TEST_MARKER=" + marker);
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }
            try
            {
                if (File.ReadAllBytes(Path.Combine(dir, "environ")).AsSpan().IndexOf(needle) >= 0)
                {
                    pids.Add(pid);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Gone, or not ours to read.
            }
        }
        pids.Remove(Environment.ProcessId);
        return pids;
    }
}
