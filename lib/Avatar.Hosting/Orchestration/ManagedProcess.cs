using System.Diagnostics;

namespace Avatar.Hosting.Orchestration;

// What to run for one replica. StandardInput is written to the process's stdin, then closed: how secrets reach
// programs that would otherwise take them on the command line, where any user can read them.
internal sealed record ProcessSpec(string FileName, IReadOnlyList<string> Arguments, string WorkingDirectory,
    IReadOnlyDictionary<string, string> Environment, int StopSignal = Native.SIGTERM, string? StandardInput = null);

/// <summary>When an exited process is started again.</summary>
internal enum RestartPolicy
{
    /// <summary>Services: any exit that was not asked for is a crash.</summary>
    Always,

    /// <summary>One-shot jobs (migrations): exit code 0 means done; anything else is retried.</summary>
    UntilSuccess,
}

/// <summary>
/// One child process kept alive: output captured line by line, restarted with exponential back-off after an
/// unexpected exit, stopped with a signal and then, after a grace period, killed with all its descendants.
/// </summary>
internal sealed class ManagedProcess(string resource, string name, Func<ProcessSpec> spec, RestartPolicy policy, ConsoleLogs logs,
    Action changed, TimeProvider time, ProcessRegistry registry)
{
    private static readonly TimeSpan s_maxBackoff = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_stableAfter = TimeSpan.FromSeconds(30);

    private CancellationTokenSource? _stopping;
    private Task? _loop;
    private Process? _process;

    public string Name { get; } = name;
    public string State { get; private set; } = KnownResourceStates.NotStarted;
    public int? Pid { get; private set; }
    /// <summary>The exit code of the last run (kept across restarts, so a crash stays visible).</summary>
    public int? ExitCode { get; private set; }
    public int Restarts { get; private set; }
    public bool Healthy { get; set; }

    public void Start()
    {
        if (_loop is { IsCompleted: false })
        {
            return;
        }
        _stopping = new CancellationTokenSource();
        _loop = RunAsync(_stopping.Token);
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        var backoff = TimeSpan.FromSeconds(1);
        while (!stopping.IsCancellationRequested)
        {
            var startedAt = time.GetUtcNow();
            int exitCode;
            try
            {
                exitCode = await RunOnceAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
            {
                logs.Add(resource, Name, $"failed to start: {ex.Message}", isError: true);
                Set(KnownResourceStates.FailedToStart);
                exitCode = -1;
            }
            if (stopping.IsCancellationRequested)
            {
                break;
            }
            if (exitCode == 0 && policy == RestartPolicy.UntilSuccess)
            {
                Set(KnownResourceStates.Finished);
                return;
            }
            if (time.GetUtcNow() - startedAt > s_stableAfter)
            {
                backoff = TimeSpan.FromSeconds(1);
            }
            Restarts++;
            logs.Add(resource, Name, $"exited with code {exitCode}; restart #{Restarts} in {backoff.TotalSeconds:0} s", isError: true);
            Set(KnownResourceStates.Restarting);
            try
            {
                await Task.Delay(backoff, time, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, s_maxBackoff.Ticks));
        }
        Set(KnownResourceStates.Stopped);
    }

    private async Task<int> RunOnceAsync(CancellationToken stopping)
    {
        var s = spec();
        // setsid puts the child in a session of its own (it execs in place, keeping the pid): a Ctrl+C in the terminal
        // then reaches only the AppHost, which stops services before the databases they use, instead of every
        // process at once (and some of them being restarted as crashed).
        var info = new ProcessStartInfo("setsid")
        {
            WorkingDirectory = s.WorkingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(s.FileName);
        foreach (var argument in s.Arguments)
        {
            info.ArgumentList.Add(argument);
        }
        foreach (var (key, value) in s.Environment)
        {
            info.Environment[key] = value;
        }
        Healthy = false;
        Set(KnownResourceStates.Starting);
        using var process = new Process { StartInfo = info };
        process.Start();
        _process = process;
        Pid = process.Id;
        registry.Add(process.Id, s.StopSignal);
        if (s.StandardInput is not null)
        {
            await process.StandardInput.WriteAsync(s.StandardInput).ConfigureAwait(false);
        }
        process.StandardInput.Close();
        Set(KnownResourceStates.Running);
        var stdout = PumpAsync(process.StandardOutput, isError: false);
        var stderr = PumpAsync(process.StandardError, isError: true);
        await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        await Task.WhenAll(stdout, stderr).ConfigureAwait(false);
        registry.Remove(process.Id);
        _process = null;
        Pid = null;
        Healthy = false;
        ExitCode = process.ExitCode;
        return process.ExitCode;
    }

    private async Task PumpAsync(StreamReader reader, bool isError)
    {
        while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            logs.Add(resource, Name, line, isError);
        }
    }

    /// <summary>Asks the process to stop with its stop signal; kills it and its descendants after <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_stopping is null || _loop is null)
        {
            return;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_process is { } process && Pid is { } pid)
        {
            Native.Signal(pid, spec().StopSignal);
            // Wait on the run loop, not on the Process: the loop disposes the Process as soon as it exits.
            try
            {
                await _loop.WaitAsync(grace).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                logs.Add(resource, Name, $"did not stop within {grace.TotalSeconds:0} s; killing it", isError: true);
                try
                {
                    process.Kill(entireProcessTree: true);
                }
                catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException)
                {
                    // Exited between the timeout and the kill.
                }
            }
        }
        await _loop.ConfigureAwait(false);
    }

    private void Set(string state)
    {
        State = state;
        changed();
    }
}
