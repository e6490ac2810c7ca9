using System.Text;
using Avatar.Redis;

namespace Avatar.Hosting.Orchestration;

/// <summary>Runs redis-server on 127.0.0.1 with a password and append-only persistence in the state directory.</summary>
internal sealed class RedisRunner(RedisResource redis, OrchestratorContext context) : ProcessRunner(redis, context)
{
    private string? _directory;
    private ConnectionMultiplexer? _client;

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
        // One client for the resource's life: it reconnects by itself when the server restarts.
        _client ??= await ConnectionMultiplexer.ConnectAsync(
            new ConfigurationOptions { Port = redis.Endpoint.ReplicaPorts[0], Password = redis.Password.Value, ConnectTimeout = 2000, SyncTimeout = 2000 },
            cancellationToken).ConfigureAwait(false);
        await _client.GetDatabase().PingAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    protected override async Task StopProcessesAsync()
    {
        await base.StopProcessesAsync().ConfigureAwait(false);
        if (_client is not null)
        {
            await _client.DisposeAsync().ConfigureAwait(false);
            _client = null;
        }
    }

    private static string FindRedisServer() =>
        Environment.GetEnvironmentVariable("AVATAR_REDIS_SERVER") is { Length: > 0 } configured ? configured
        : File.Exists("/usr/bin/redis-server") ? "/usr/bin/redis-server"
        : "redis-server";
}
