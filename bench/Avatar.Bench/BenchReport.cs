using System.Text.Json;

namespace Avatar.Bench;

/// <summary>One measured figure, beside the same figure of a peer measured in the same run (when there is one).</summary>
/// <param name="Name">What was measured.</param>
/// <param name="Unit">Its unit (ops/s, ms...).</param>
/// <param name="Value">Ours.</param>
/// <param name="Peer">The peer measured beside it, or null.</param>
/// <param name="PeerValue">The peer's figure.</param>
/// <param name="Ratio">Ours divided by the peer's (for rates, above 1 means faster).</param>
public sealed record BenchResult(string Name, string Unit, double Value, string? Peer = null, double? PeerValue = null, double? Ratio = null)
{
    /// <summary>A figure beside its peer's.</summary>
    public static BenchResult Versus(string name, string unit, double value, string peer, double peerValue) =>
        new(name, unit, value, peer, peerValue, peerValue == 0 ? null : Math.Round(value / peerValue, 3));
}

/// <summary>Writes results as a console table and as artifacts/bench/&lt;group&gt;.json.</summary>
public static class BenchReport
{
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static void Write(string group, IReadOnlyList<BenchResult> results)
    {
        Console.WriteLine($"{"name",-58} {"value",12} {"unit",-8} {"peer",-22} {"peer value",12} {"ratio",7}");
        foreach (var r in results)
        {
            Console.WriteLine($"{r.Name,-58} {Format(r.Value),12} {r.Unit,-8} {r.Peer ?? "-",-22} {(r.PeerValue is { } p ? Format(p) : "-"),12} {(r.Ratio is { } x ? x.ToString("0.00") : "-"),7}");
        }
        var directory = Path.Combine(RepositoryRoot(), "artifacts", "bench");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"{group}.json");
        File.WriteAllText(path, JsonSerializer.Serialize(results, s_json));
        Console.WriteLine($"wrote {path}");
    }

    private static string Format(double value) => Math.Abs(value) >= 100 ? value.ToString("N0") : value.ToString("0.####");

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Avatar.sln")))
            {
                return dir.FullName;
            }
        }
        return Directory.GetCurrentDirectory();
    }
}
