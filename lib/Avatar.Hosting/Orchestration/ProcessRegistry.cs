using System.Globalization;
using System.Text.Json;

namespace Avatar.Hosting.Orchestration;

/// <summary>
/// Remembers every process the AppHost started (pid and kernel start time) in <c>{state}/processes.json</c>. An AppHost
/// killed with SIGKILL cannot stop its children; the next run finds them here and stops them before it starts anything,
/// so ports and data folders are free. The start time guards against a recycled pid.
/// </summary>
internal sealed class ProcessRegistry(string stateDirectory, ConsoleLogs logs)
{
    private readonly string _path = Path.Combine(stateDirectory, "processes.json");
    private readonly Lock _gate = new();
    private readonly Dictionary<int, Entry> _running = [];

    /// <summary>A recorded process: its kernel start time and the signal that stops it gracefully.</summary>
    internal sealed record Entry(long StartTime, int StopSignal);

    public void Add(int pid, int stopSignal)
    {
        if (StartTime(pid) is not { } started)
        {
            return;
        }
        lock (_gate)
        {
            _running[pid] = new Entry(started, stopSignal);
            Save();
        }
    }

    public void Remove(int pid)
    {
        lock (_gate)
        {
            if (_running.Remove(pid))
            {
                Save();
            }
        }
    }

    /// <summary>Stops what a previous AppHost left running.</summary>
    public void StopLeftovers()
    {
        if (!File.Exists(_path))
        {
            return;
        }
        Dictionary<int, Entry> recorded;
        try
        {
            recorded = JsonSerializer.Deserialize<Dictionary<int, Entry>>(File.ReadAllText(_path)) ?? [];
        }
        catch (JsonException)
        {
            return;
        }
        var leftovers = recorded.Where(p => StartTime(p.Key) == p.Value.StartTime).ToList();
        foreach (var (pid, entry) in leftovers)
        {
            logs.Add("apphost", "apphost", $"stopping process {pid} left running by an earlier AppHost", isError: true);
            Native.Signal(pid, entry.StopSignal);
        }
        var pids = leftovers.Select(p => p.Key).ToList();
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (pids.Any(Native.IsAlive) && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(50);
        }
        foreach (var pid in pids.Where(Native.IsAlive))
        {
            Native.Signal(pid, Native.SIGKILL);
        }
        File.Delete(_path);
    }

    private void Save() => File.WriteAllText(_path, JsonSerializer.Serialize(_running));

    /// <summary>The process's start time in clock ticks since boot (field 22 of /proc/pid/stat), or null if it is gone.</summary>
    private static long? StartTime(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[19], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
