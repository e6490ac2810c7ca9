using System.Collections.Concurrent;

namespace Avatar.Redis;

/// <summary>
/// Publish and subscribe. Subscriptions live on a connection of their own (RESP2 allows nothing else on a subscribed
/// connection); when it drops, it is re-established with back-off and every channel is subscribed again.
/// </summary>
public sealed class RedisSubscriber : IAsyncDisposable
{
    private readonly ConnectionMultiplexer _multiplexer;
    private readonly ConcurrentDictionary<string, ConcurrentBag<Action<RedisChannel, RedisValue>>> _handlers = new();
    private readonly SemaphoreSlim _connecting = new(1, 1);
    private readonly CancellationTokenSource _disposing = new();
    private PhysicalConnection? _connection;

    internal RedisSubscriber(ConnectionMultiplexer multiplexer) => _multiplexer = multiplexer;

    /// <summary>PUBLISH: how many subscribers received it.</summary>
    public async Task<long> PublishAsync(RedisChannel channel, RedisValue message, CancellationToken cancellationToken = default) =>
        (long)await _multiplexer.ExecuteAsync(["PUBLISH", channel.Value, message], cancellationToken).ConfigureAwait(false);

    /// <summary>SUBSCRIBE: <paramref name="handler"/> runs for every message on the channel (on the reader's thread: keep it short).</summary>
    public async Task SubscribeAsync(RedisChannel channel, Action<RedisChannel, RedisValue> handler, CancellationToken cancellationToken = default)
    {
        _handlers.GetOrAdd(channel.Value, _ => []).Add(handler);
        var connection = await ConnectionAsync(cancellationToken).ConfigureAwait(false);
        await connection.SendAsync(["SUBSCRIBE", channel.Value], cancellationToken).WaitAsync(TimeSpan.FromMilliseconds(_multiplexer.Configuration.SyncTimeout), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>UNSUBSCRIBE: drops every handler of the channel.</summary>
    public async Task UnsubscribeAsync(RedisChannel channel, CancellationToken cancellationToken = default)
    {
        _handlers.TryRemove(channel.Value, out _);
        if (_connection is { IsAlive: true } connection)
        {
            await connection.SendAsync(["UNSUBSCRIBE", channel.Value], cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<PhysicalConnection> ConnectionAsync(CancellationToken cancellationToken)
    {
        if (_connection is { IsAlive: true } alive)
        {
            return alive;
        }
        await _connecting.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_connection is { IsAlive: true } connected)
            {
                return connected;
            }
            var connection = await PhysicalConnection.ConnectAsync(_multiplexer.Configuration, OnMessage, OnFailure, cancellationToken).ConfigureAwait(false);
            foreach (var channel in _handlers.Keys)
            {
                await connection.SendAsync(["SUBSCRIBE", channel], cancellationToken).ConfigureAwait(false);
            }
            _connection = connection;
            return connection;
        }
        finally
        {
            _connecting.Release();
        }
    }

    private void OnMessage(RedisResult push)
    {
        // ["message", channel, payload] or ["pmessage", pattern, channel, payload]
        var items = push.ToArray();
        var channel = (string)items[^2].Value.ToString()!;
        if (_handlers.TryGetValue(channel, out var handlers))
        {
            foreach (var handler in handlers)
            {
                handler(channel, items[^1].Value);
            }
        }
    }

    private void OnFailure(PhysicalConnection connection, Exception reason) => _ = ResubscribeAsync();

    private Task ResubscribeAsync() => _handlers.IsEmpty ? Task.CompletedTask : Reconnection.RunAsync(ConnectionAsync, _disposing.Token);

    /// <summary>Closes the subscription connection.</summary>
    public async ValueTask DisposeAsync()
    {
        await _disposing.CancelAsync().ConfigureAwait(false);
        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}
