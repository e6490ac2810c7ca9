using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Avatar.Redis;

/// <summary>
/// The entry point, as in StackExchange.Redis: one multiplexed connection shared by every caller (thread-safe, meant to
/// live as long as the application), reconnected with back-off when it drops. Blocking commands (XREADGROUP BLOCK) get
/// connections of their own so they never hold up the shared one; pub/sub has its own too (<see cref="GetSubscriber"/>).
/// </summary>
public sealed class ConnectionMultiplexer : IAsyncDisposable
{
    internal static readonly ActivitySource ActivitySource = new("Avatar.Redis");
    private static readonly Meter s_meter = new("Avatar.Redis");
    private static readonly Counter<long> s_commands = s_meter.CreateCounter<long>("redis.client.commands", description: "Commands sent");
    private static readonly Counter<long> s_errors = s_meter.CreateCounter<long>("redis.client.errors", description: "Commands that failed");
    private static readonly Counter<long> s_reconnects = s_meter.CreateCounter<long>("redis.client.reconnects", description: "Connections re-established");

    private readonly ConcurrentBag<PhysicalConnection> _blocking = [];
    private readonly CancellationTokenSource _disposing = new();
    private readonly Lock _gate = new();
    private PhysicalConnection? _connection;
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private RedisSubscriber? _subscriber;

    private ConnectionMultiplexer(ConfigurationOptions options) => Configuration = options;

    /// <summary>The settings in use.</summary>
    public ConfigurationOptions Configuration { get; }

    /// <summary>True while the shared connection is up.</summary>
    public bool IsConnected => _connection?.IsAlive == true;

    /// <summary>Connects (and authenticates) or throws <see cref="RedisConnectionException"/>.</summary>
    public static Task<ConnectionMultiplexer> ConnectAsync(string configuration, CancellationToken cancellationToken = default) =>
        ConnectAsync(ConfigurationOptions.Parse(configuration), cancellationToken);

    /// <summary>Connects (and authenticates) or throws <see cref="RedisConnectionException"/>.</summary>
    public static async Task<ConnectionMultiplexer> ConnectAsync(ConfigurationOptions options, CancellationToken cancellationToken = default)
    {
        var multiplexer = new ConnectionMultiplexer(options);
        multiplexer.Attach(await PhysicalConnection.ConnectAsync(options, null, multiplexer.OnFailure, cancellationToken).ConfigureAwait(false));
        return multiplexer;
    }

    /// <summary>The commands API.</summary>
    public RedisDatabase GetDatabase() => new(this);

    /// <summary>Publish and subscribe, on a connection of its own.</summary>
    public RedisSubscriber GetSubscriber()
    {
        lock (_gate)
        {
            return _subscriber ??= new RedisSubscriber(this);
        }
    }

    /// <summary>Sends a command on the shared connection and waits for its reply (at most the sync timeout).</summary>
    internal async Task<RedisResult> ExecuteAsync(RedisValue[] args, CancellationToken cancellationToken)
    {
        s_commands.Add(1);
        var connection = await GetConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await WaitAsync(connection.SendAsync(args, cancellationToken), args, Configuration.SyncTimeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends a blocking command on a connection of its own, so the shared one keeps flowing.</summary>
    internal async Task<RedisResult> ExecuteBlockingAsync(RedisValue[] args, TimeSpan block, CancellationToken cancellationToken)
    {
        s_commands.Add(1);
        PhysicalConnection? connection = null;
        while (_blocking.TryTake(out var pooled))
        {
            if (pooled.IsAlive)
            {
                connection = pooled;
                break;
            }
        }
        connection ??= await PhysicalConnection.ConnectAsync(Configuration, null, null, cancellationToken).ConfigureAwait(false);
        try
        {
            return await WaitAsync(connection.SendAsync(args, cancellationToken), args, (int)block.TotalMilliseconds + Configuration.SyncTimeout, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // A cancelled blocking call leaves its reply in flight: that connection cannot be reused.
            if (connection.IsAlive && !cancellationToken.IsCancellationRequested && _blocking.Count < 8)
            {
                _blocking.Add(connection);
            }
            else
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task<RedisResult> WaitAsync(Task<RedisResult> reply, RedisValue[] args, int timeoutMilliseconds, CancellationToken cancellationToken)
    {
        try
        {
            return await reply.WaitAsync(TimeSpan.FromMilliseconds(timeoutMilliseconds), cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            s_errors.Add(1);
            throw new RedisTimeoutException($"Redis did not answer {args[0]} within {timeoutMilliseconds} ms.");
        }
        catch (Exception ex) when (ex is RedisConnectionException or RedisServerException)
        {
            s_errors.Add(1);
            throw;
        }
    }

    private async Task<PhysicalConnection> GetConnectionAsync(CancellationToken cancellationToken)
    {
        Task connected;
        lock (_gate)
        {
            if (_connection is { IsAlive: true } alive)
            {
                return alive;
            }
            connected = _connected.Task;
        }
        ObjectDisposedException.ThrowIf(_disposing.IsCancellationRequested, this);
        try
        {
            await connected.WaitAsync(TimeSpan.FromMilliseconds(Configuration.ConnectTimeout), cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new RedisConnectionException($"No connection to Redis at {Configuration} (reconnecting).");
        }
        return _connection!;
    }

    private void Attach(PhysicalConnection connection)
    {
        lock (_gate)
        {
            _connection = connection;
            _connected.TrySetResult();
        }
    }

    private void OnFailure(PhysicalConnection connection, Exception reason)
    {
        lock (_gate)
        {
            if (_connection != connection || _disposing.IsCancellationRequested)
            {
                return;
            }
            _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        _ = ReconnectAsync();
    }

    private Task ReconnectAsync() => Reconnection.RunAsync(async cancellationToken =>
    {
        Attach(await PhysicalConnection.ConnectAsync(Configuration, null, OnFailure, cancellationToken).ConfigureAwait(false));
        s_reconnects.Add(1);
    }, _disposing.Token);

    /// <summary>Closes every connection.</summary>
    public async ValueTask DisposeAsync()
    {
        await _disposing.CancelAsync().ConfigureAwait(false);
        if (_subscriber is not null)
        {
            await _subscriber.DisposeAsync().ConfigureAwait(false);
        }
        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
        while (_blocking.TryTake(out var connection))
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}
