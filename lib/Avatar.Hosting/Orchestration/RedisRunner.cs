using System.Net.Sockets;
using System.Text;

namespace Avatar.Hosting.Orchestration;

/// <summary>Runs redis-server on 127.0.0.1 with a password and append-only persistence in the state directory.</summary>
internal sealed class RedisRunner(RedisResource redis, OrchestratorContext context) : ProcessRunner(redis, context)
{
    private string? _directory;

    public override bool IsInfrastructure => true;

    protected override Task PrepareAsync(CancellationToken cancellationToken)
    {
        _directory ??= Directory.CreateDirectory(Path.Combine(Context.StateDirectory, redis.Name)).FullName;
        return Task.CompletedTask;
    }

    protected override ProcessSpec CreateSpec(int replica)
    {
        var port = redis.Endpoint.ReplicaPorts[0];
        // The configuration, password included, goes in through stdin ("redis-server -") so it never shows in ps.
        var config = new StringBuilder()
            .Append("port ").Append(port).Append('\n')
            .Append("bind 127.0.0.1\n")
            .Append("protected-mode yes\n")
            .Append("requirepass ").Append(redis.Password.Value).Append('\n')
            .Append("dir ").Append(_directory).Append('\n')
            .Append("save \"\"\n")
            .Append(Context.Options.Ephemeral ? "appendonly no\n" : "appendonly yes\n")
            .ToString();
        return new ProcessSpec(FindRedisServer(), ["-"], _directory!, new Dictionary<string, string>(), Native.SIGTERM, config);
    }

    protected override async Task<bool> ProbeAsync(int replica, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        await client.ConnectAsync("127.0.0.1", redis.Endpoint.ReplicaPorts[0], timeout.Token).ConfigureAwait(false);
        var stream = client.GetStream();
        var password = redis.Password.Value;
        var request = $"*2\r\n$4\r\nAUTH\r\n${Encoding.UTF8.GetByteCount(password)}\r\n{password}\r\n*1\r\n$4\r\nPING\r\n";
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request), timeout.Token).ConfigureAwait(false);
        var buffer = new byte[64];
        var received = new StringBuilder();
        while (!received.ToString().Contains("+PONG\r\n", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, timeout.Token).ConfigureAwait(false);
            if (read == 0 || received.Append(Encoding.ASCII.GetString(buffer, 0, read)).ToString().StartsWith('-'))
            {
                return false;
            }
        }
        return true;
    }

    private static string FindRedisServer() =>
        Environment.GetEnvironmentVariable("AVATAR_REDIS_SERVER") is { Length: > 0 } configured ? configured
        : File.Exists("/usr/bin/redis-server") ? "/usr/bin/redis-server"
        : "redis-server";
}
