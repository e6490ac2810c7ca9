using System.Globalization;

namespace Avatar.Redis;

/// <summary>The commands the project uses, named as in StackExchange.Redis' IDatabase. Cheap to create; share the multiplexer.</summary>
public sealed class RedisDatabase
{
    private readonly ConnectionMultiplexer _multiplexer;

    internal RedisDatabase(ConnectionMultiplexer multiplexer) => _multiplexer = multiplexer;

    /// <summary>Any command: <c>ExecuteAsync("CLIENT", "LIST")</c>. Arguments are strings, numbers or byte arrays.</summary>
    public Task<RedisResult> ExecuteAsync(string command, params object[] args) =>
        Send([command, .. args.Select(ToValue)], CancellationToken.None);

    /// <summary>Any command, cancellable.</summary>
    public Task<RedisResult> ExecuteAsync(string command, IReadOnlyList<RedisValue> args, CancellationToken cancellationToken) =>
        Send([command, .. args], cancellationToken);

    /// <summary>PING: the round trip.</summary>
    public async Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        await Send(["PING"], cancellationToken).ConfigureAwait(false);
        return System.Diagnostics.Stopwatch.GetElapsedTime(started);
    }

    // Strings

    /// <summary>GET.</summary>
    public async Task<RedisValue> StringGetAsync(RedisKey key, CancellationToken cancellationToken = default) =>
        (await Send(["GET", key.Value], cancellationToken).ConfigureAwait(false)).Value;

    /// <summary>MGET: values in key order, null for missing keys.</summary>
    public async Task<RedisValue[]> StringGetAsync(RedisKey[] keys, CancellationToken cancellationToken = default) =>
        [.. (await Send(["MGET", .. keys.Select(k => (RedisValue)k.Value)], cancellationToken).ConfigureAwait(false)).ToArray().Select(r => r.Value)];

    /// <summary>SET with an optional expiry and condition; false when the condition stopped it.</summary>
    public async Task<bool> StringSetAsync(RedisKey key, RedisValue value, TimeSpan? expiry = null, When when = When.Always,
        CancellationToken cancellationToken = default)
    {
        List<RedisValue> args = ["SET", key.Value, value];
        if (expiry is { } ttl)
        {
            args.AddRange(["PX", (long)ttl.TotalMilliseconds]);
        }
        if (when != When.Always)
        {
            args.Add(when == When.NotExists ? "NX" : "XX");
        }
        return !(await Send([.. args], cancellationToken).ConfigureAwait(false)).IsNull;
    }

    /// <summary>INCRBY: the new value.</summary>
    public async Task<long> StringIncrementAsync(RedisKey key, long value = 1, CancellationToken cancellationToken = default) =>
        (long)await Send(["INCRBY", key.Value, value], cancellationToken).ConfigureAwait(false);

    // Keys

    /// <summary>DEL: whether it existed.</summary>
    public async Task<bool> KeyDeleteAsync(RedisKey key, CancellationToken cancellationToken = default) =>
        (long)await Send(["DEL", key.Value], cancellationToken).ConfigureAwait(false) == 1;

    /// <summary>EXISTS.</summary>
    public async Task<bool> KeyExistsAsync(RedisKey key, CancellationToken cancellationToken = default) =>
        (long)await Send(["EXISTS", key.Value], cancellationToken).ConfigureAwait(false) == 1;

    /// <summary>PEXPIRE, or PERSIST for null: whether the key exists.</summary>
    public async Task<bool> KeyExpireAsync(RedisKey key, TimeSpan? expiry, CancellationToken cancellationToken = default) =>
        (long)await Send(expiry is { } ttl ? ["PEXPIRE", key.Value, (long)ttl.TotalMilliseconds] : ["PERSIST", key.Value], cancellationToken).ConfigureAwait(false) == 1;

    /// <summary>PTTL: null when the key is missing or has no expiry.</summary>
    public async Task<TimeSpan?> KeyTimeToLiveAsync(RedisKey key, CancellationToken cancellationToken = default)
    {
        var ms = (long)await Send(["PTTL", key.Value], cancellationToken).ConfigureAwait(false);
        return ms < 0 ? null : TimeSpan.FromMilliseconds(ms);
    }

    // Hashes

    /// <summary>HSET of several fields.</summary>
    public Task HashSetAsync(RedisKey key, HashEntry[] fields, CancellationToken cancellationToken = default) =>
        Send(["HSET", key.Value, .. fields.SelectMany(f => new[] { f.Name, f.Value })], cancellationToken);

    /// <summary>HSET of one field: whether it is new.</summary>
    public async Task<bool> HashSetAsync(RedisKey key, RedisValue field, RedisValue value, CancellationToken cancellationToken = default) =>
        (long)await Send(["HSET", key.Value, field, value], cancellationToken).ConfigureAwait(false) == 1;

    /// <summary>HGET.</summary>
    public async Task<RedisValue> HashGetAsync(RedisKey key, RedisValue field, CancellationToken cancellationToken = default) =>
        (await Send(["HGET", key.Value, field], cancellationToken).ConfigureAwait(false)).Value;

    /// <summary>HGETALL.</summary>
    public async Task<HashEntry[]> HashGetAllAsync(RedisKey key, CancellationToken cancellationToken = default) =>
        [.. Pairs((await Send(["HGETALL", key.Value], cancellationToken).ConfigureAwait(false)).ToArray()).Select(p => new HashEntry(p.Name, p.Value))];

    /// <summary>HDEL: whether the field existed.</summary>
    public async Task<bool> HashDeleteAsync(RedisKey key, RedisValue field, CancellationToken cancellationToken = default) =>
        (long)await Send(["HDEL", key.Value, field], cancellationToken).ConfigureAwait(false) == 1;

    /// <summary>HINCRBY: the new value.</summary>
    public async Task<long> HashIncrementAsync(RedisKey key, RedisValue field, long value = 1, CancellationToken cancellationToken = default) =>
        (long)await Send(["HINCRBY", key.Value, field, value], cancellationToken).ConfigureAwait(false);

    // Streams

    /// <summary>XADD with an auto id, optionally trimming to about <paramref name="maxLength"/> entries: the new id.</summary>
    public async Task<RedisValue> StreamAddAsync(RedisKey key, NameValueEntry[] fields, int? maxLength = null, CancellationToken cancellationToken = default)
    {
        List<RedisValue> args = ["XADD", key.Value];
        if (maxLength is { } max)
        {
            args.AddRange(["MAXLEN", "~", max]);
        }
        args.Add("*");
        args.AddRange(fields.SelectMany(f => new[] { f.Name, f.Value }));
        return (await Send([.. args], cancellationToken).ConfigureAwait(false)).Value;
    }

    /// <summary>XGROUP CREATE ... MKSTREAM; false when the group already exists.</summary>
    public async Task<bool> StreamCreateConsumerGroupAsync(RedisKey key, RedisValue group, RedisValue? position = null, CancellationToken cancellationToken = default)
    {
        try
        {
            await Send(["XGROUP", "CREATE", key.Value, group, position ?? "$", "MKSTREAM"], cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
            return false;
        }
    }

    /// <summary>
    /// XREADGROUP: <paramref name="position"/> "&gt;" for new entries, "0" for this consumer's pending ones. With
    /// <paramref name="block"/>, waits up to that long for entries, on a connection of its own.
    /// </summary>
    public async Task<StreamEntry[]> StreamReadGroupAsync(RedisKey key, RedisValue group, RedisValue consumer, RedisValue? position = null,
        int? count = null, TimeSpan? block = null, CancellationToken cancellationToken = default)
    {
        List<RedisValue> args = ["XREADGROUP", "GROUP", group, consumer];
        if (count is { } c)
        {
            args.AddRange(["COUNT", c]);
        }
        if (block is { } b)
        {
            args.AddRange(["BLOCK", (long)b.TotalMilliseconds]);
        }
        args.AddRange(["STREAMS", key.Value, position ?? ">"]);
        var reply = block is { } wait
            ? await _multiplexer.ExecuteBlockingAsync([.. args], wait, cancellationToken).ConfigureAwait(false)
            : await Send([.. args], cancellationToken).ConfigureAwait(false);
        // [[key, [entries...]]] or null when nothing arrived.
        return reply.IsNull ? [] : [.. reply.ToArray().SelectMany(stream => Entries(stream.ToArray()[1]))];
    }

    /// <summary>XACK: how many were acknowledged.</summary>
    public async Task<long> StreamAcknowledgeAsync(RedisKey key, RedisValue group, RedisValue[] ids, CancellationToken cancellationToken = default) =>
        (long)await Send(["XACK", key.Value, group, .. ids], cancellationToken).ConfigureAwait(false);

    /// <summary>XAUTOCLAIM: takes over entries idle for at least <paramref name="minIdle"/> (their consumer died).</summary>
    public async Task<StreamAutoClaimResult> StreamAutoClaimAsync(RedisKey key, RedisValue group, RedisValue consumer, TimeSpan minIdle,
        RedisValue? start = null, int? count = null, CancellationToken cancellationToken = default)
    {
        List<RedisValue> args = ["XAUTOCLAIM", key.Value, group, consumer, (long)minIdle.TotalMilliseconds, start ?? "0-0"];
        if (count is { } c)
        {
            args.AddRange(["COUNT", c]);
        }
        var reply = (await Send([.. args], cancellationToken).ConfigureAwait(false)).ToArray();
        return new StreamAutoClaimResult(reply[0].Value, Entries(reply[1]),
            reply.Length > 2 ? [.. reply[2].ToArray().Select(r => r.Value)] : []);
    }

    /// <summary>XPENDING summary of a group.</summary>
    public async Task<StreamPendingInfo> StreamPendingAsync(RedisKey key, RedisValue group, CancellationToken cancellationToken = default)
    {
        var reply = (await Send(["XPENDING", key.Value, group], cancellationToken).ConfigureAwait(false)).ToArray();
        var consumers = reply[3].ToArray().Select(c => c.ToArray()).Select(c => new StreamConsumer(c[0].Value, long.Parse(c[1].Value.ToString()!, CultureInfo.InvariantCulture)));
        return new StreamPendingInfo((long)reply[0], reply[1].Value, reply[2].Value, [.. consumers]);
    }

    /// <summary>XPENDING extended form: up to <paramref name="count"/> pending entries, optionally of one consumer and idle long enough.</summary>
    public async Task<StreamPendingMessageInfo[]> StreamPendingMessagesAsync(RedisKey key, RedisValue group, int count, RedisValue? consumer = null,
        TimeSpan? minIdle = null, CancellationToken cancellationToken = default)
    {
        List<RedisValue> args = ["XPENDING", key.Value, group];
        if (minIdle is { } idle)
        {
            args.AddRange(["IDLE", (long)idle.TotalMilliseconds]);
        }
        args.AddRange(["-", "+", count]);
        if (consumer is { } c)
        {
            args.Add(c);
        }
        var reply = await Send([.. args], cancellationToken).ConfigureAwait(false);
        return [.. reply.ToArray().Select(r => r.ToArray()).Select(r => new StreamPendingMessageInfo(r[0].Value, r[1].Value, (long)r[2], (int)(long)r[3]))];
    }

    /// <summary>XLEN.</summary>
    public async Task<long> StreamLengthAsync(RedisKey key, CancellationToken cancellationToken = default) =>
        (long)await Send(["XLEN", key.Value], cancellationToken).ConfigureAwait(false);

    /// <summary>XDEL: how many were deleted.</summary>
    public async Task<long> StreamDeleteAsync(RedisKey key, RedisValue[] ids, CancellationToken cancellationToken = default) =>
        (long)await Send(["XDEL", key.Value, .. ids], cancellationToken).ConfigureAwait(false);

    // Scripts

    /// <summary>EVAL of a Lua script with keys and arguments.</summary>
    public Task<RedisResult> ScriptEvaluateAsync(string script, RedisKey[]? keys = null, RedisValue[]? values = null, CancellationToken cancellationToken = default) =>
        Send(["EVAL", script, keys?.Length ?? 0, .. (keys ?? []).Select(k => (RedisValue)k.Value), .. values ?? []], cancellationToken);

    private Task<RedisResult> Send(RedisValue[] args, CancellationToken cancellationToken) => _multiplexer.ExecuteAsync(args, cancellationToken);

    private static StreamEntry[] Entries(RedisResult entries) =>
        [.. entries.ToArray().Where(e => !e.IsNull).Select(e => e.ToArray()).Select(e => new StreamEntry(e[0].Value,
            e[1].IsNull ? [] : [.. Pairs(e[1].ToArray()).Select(p => new NameValueEntry(p.Name, p.Value))]))];

    private static IEnumerable<(RedisValue Name, RedisValue Value)> Pairs(RedisResult[] flat)
    {
        for (var i = 0; i + 1 < flat.Length; i += 2)
        {
            yield return (flat[i].Value, flat[i + 1].Value);
        }
    }

    private static RedisValue ToValue(object arg) => arg switch
    {
        RedisValue v => v,
        string s => s,
        byte[] b => b,
        int i => i,
        long l => l,
        double d => d,
        RedisKey k => k.Value,
        _ => Convert.ToString(arg, CultureInfo.InvariantCulture),
    };
}
