using Avatar.Bench;

// The grpc group's own server, run as a process of its own beside grpc-js's (see GrpcBench).
if (args is [GrpcBench.ServerMode])
{
    await GrpcBench.ServeAsync();
    return 0;
}

// The load group's bare Kestrel + Npgsql peer, a process of its own beside the Api's (see LoadBench).
if (args is [LoadPeer.Mode])
{
    await LoadPeer.ServeAsync(Environment.GetEnvironmentVariable("ConnectionStrings__avatardb")!);
    return 0;
}

// make bench [BENCH=group]: runs each group, prints a table, writes artifacts/bench/<group>.json.
var groups = new Dictionary<string, Func<Task<IReadOnlyList<BenchResult>>>>(StringComparer.OrdinalIgnoreCase)
{
    ["redis"] = RedisBench.RunAsync,
    ["grpc"] = GrpcBench.RunAsync,
    ["a2f"] = A2FBench.RunAsync,
    ["chat"] = ChatBench.RunAsync,
    ["apphost"] = AppHostBench.RunAsync,
    ["load"] = LoadBench.RunAsync,
};
var selected = args.Length == 0 ? [.. groups.Keys] : args;
foreach (var name in selected)
{
    if (!groups.TryGetValue(name, out var run))
    {
        Console.Error.WriteLine($"Unknown group '{name}'. Groups: {string.Join(", ", groups.Keys)}");
        return 2;
    }
    Console.WriteLine($"== {name}");
    var results = await run();
    BenchReport.Write(name, results);
}
return 0;
