namespace Avatar.Hosting.Orchestration;

/// <summary>One line a resource wrote to stdout or stderr.</summary>
/// <param name="Source">The replica that wrote it.</param>
/// <param name="Timestamp">When the AppHost read it.</param>
/// <param name="Text">The line.</param>
/// <param name="IsError">True for stderr (and for the orchestrator's own notes about the resource).</param>
public sealed record ConsoleLine(string Source, DateTimeOffset Timestamp, string Text, bool IsError);

/// <summary>Keeps the latest console output of every resource in bounded memory (oldest lines dropped first).</summary>
public sealed class ConsoleLogs(TimeProvider time, int linesPerResource = 5000, bool echo = true)
{
    private readonly Dictionary<string, Queue<ConsoleLine>> _lines = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _gate = new();

    /// <summary>Records a line for <paramref name="resource"/>; echoes it to the console prefixed by the replica name.</summary>
    public void Add(string resource, string source, string text, bool isError = false)
    {
        var line = new ConsoleLine(source, time.GetUtcNow(), text, isError);
        lock (_gate)
        {
            if (!_lines.TryGetValue(resource, out var queue))
            {
                _lines[resource] = queue = new Queue<ConsoleLine>();
            }
            if (queue.Count == linesPerResource)
            {
                queue.Dequeue();
            }
            queue.Enqueue(line);
            if (echo)
            {
                // Inside the lock so lines from different resources never interleave mid-line.
                (isError ? Console.Error : Console.Out).WriteLine($"[{source}] {text}");
            }
        }
    }

    /// <summary>The kept lines of a resource, oldest first.</summary>
    public IReadOnlyList<ConsoleLine> Get(string resource)
    {
        lock (_gate)
        {
            return _lines.TryGetValue(resource, out var queue) ? [.. queue] : [];
        }
    }
}
