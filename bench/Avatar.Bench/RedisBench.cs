using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace Avatar.Bench;

/// <summary>
/// Pipelined SET and GET throughput of StackExchange.Redis (many concurrent callers sharing one multiplexed connection,
/// which pipelines by itself, as the services use it) against redis-benchmark -P 16 on the same redis-server, in the same run.
/// </summary>
public static class RedisBench
{
    private const int Operations = 200_000;
    private const int Callers = 256;

    public static async Task<IReadOnlyList<BenchResult>> RunAsync()
    {
        var port = Ports.Free();
        var password = Guid.NewGuid().ToString("N");
        var directory = Directory.CreateTempSubdirectory("avatar-bench-redis-").FullName;
        using var server = Process.Start(new ProcessStartInfo("redis-server")
        {
            ArgumentList = { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--requirepass", password, "--save", "", "--appendonly", "no", "--dir", directory },
            RedirectStandardOutput = true,
        })!;
        try
        {
            await using var redis = await ConnectWithRetryAsync($"127.0.0.1:{port},password={password}");
            var db = redis.GetDatabase();
            // Warm-up: let tiered JIT settle and pools fill before anything is timed.
            await MeasureAsync(i => db.StringSetAsync($"key:{i % 1000}", "xxx"), Operations);
            await MeasureAsync(i => db.StringGetAsync($"key:{i % 1000}"), Operations);
            var set = await MeasureAsync(i => db.StringSetAsync($"key:{i % 1000}", "xxx"), Operations);
            var get = await MeasureAsync(i => db.StringGetAsync($"key:{i % 1000}"), Operations);
            var peer = RedisBenchmark(port, password);
            return
            [
                BenchResult.Versus("redis SET pipelined", "ops/s", set, "redis-benchmark -P 16", peer["SET"]),
                BenchResult.Versus("redis GET pipelined", "ops/s", get, "redis-benchmark -P 16", peer["GET"]),
            ];
        }
        finally
        {
            server.Kill();
            await server.WaitForExitAsync();
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<double> MeasureAsync<T>(Func<int, Task<T>> operation, int count)
    {
        var next = -1;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Callers).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                await operation(i);
            }
        }));
        return count / watch.Elapsed.TotalSeconds;
    }

    private static Dictionary<string, double> RedisBenchmark(int port, string password)
    {
        var info = new ProcessStartInfo("redis-benchmark")
        {
            ArgumentList = { "-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-a", password, "-t", "set,get", "-P", "16",
                "-n", Operations.ToString(CultureInfo.InvariantCulture), "-q", "--csv" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        // "SET","512820.53",...
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(',').Select(f => f.Trim('"')).ToArray())
            .Where(f => f.Length > 1 && double.TryParse(f[1], CultureInfo.InvariantCulture, out _))
            .ToDictionary(f => f[0], f => double.Parse(f[1], CultureInfo.InvariantCulture));
    }

    private static async Task<ConnectionMultiplexer> ConnectWithRetryAsync(string configuration)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await ConnectionMultiplexer.ConnectAsync(configuration);
            }
            catch (RedisConnectionException) when (attempt < 100)
            {
                await Task.Delay(50);
            }
        }
    }

}
