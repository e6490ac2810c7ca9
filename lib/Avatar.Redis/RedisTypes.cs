using System.Globalization;
using System.Text;

namespace Avatar.Redis;

/// <summary>A key. Converts implicitly from and to string.</summary>
/// <param name="Value">The key's text.</param>
public readonly record struct RedisKey(string Value)
{
    /// <summary>From a string.</summary>
    public static implicit operator RedisKey(string value) => new(value);

    /// <summary>To a string.</summary>
    public static implicit operator string(RedisKey key) => key.Value;

    /// <inheritdoc />
    public override string ToString() => Value;
}

/// <summary>A pub/sub channel name.</summary>
/// <param name="Value">The channel's name.</param>
public readonly record struct RedisChannel(string Value)
{
    /// <summary>From a string.</summary>
    public static implicit operator RedisChannel(string value) => new(value);

    /// <inheritdoc />
    public override string ToString() => Value;
}

/// <summary>
/// A value sent to or read from Redis: text, bytes, an integer, a float, or null (a missing key). Converts implicitly from
/// those types and explicitly back, as StackExchange.Redis' type of the same name does.
/// </summary>
public readonly struct RedisValue : IEquatable<RedisValue>
{
    private readonly object? _value;

    private RedisValue(object? value) => _value = value;

    /// <summary>The null value (a missing key or field).</summary>
    public static RedisValue Null => default;

    /// <summary>True for a missing key or field.</summary>
    public bool IsNull => _value is null;

    /// <summary>True when null or an empty string.</summary>
    public bool IsNullOrEmpty => _value is null || (_value is string { Length: 0 }) || (_value is byte[] { Length: 0 });

    /// <summary>From text.</summary>
    public static implicit operator RedisValue(string? value) => new(value);
    /// <summary>From bytes.</summary>
    public static implicit operator RedisValue(byte[]? value) => new(value);
    /// <summary>From an integer.</summary>
    public static implicit operator RedisValue(long value) => new(value);
    /// <summary>From an integer.</summary>
    public static implicit operator RedisValue(int value) => new((long)value);
    /// <summary>From a float.</summary>
    public static implicit operator RedisValue(double value) => new(value);
    /// <summary>From a boolean (stored as 1 or 0, as Redis does).</summary>
    public static implicit operator RedisValue(bool value) => new(value ? 1L : 0L);

    /// <summary>As text (UTF-8 for bytes); null for null.</summary>
    public static explicit operator string?(RedisValue value) => value.ToString();

    /// <summary>As bytes; null for null.</summary>
    public static explicit operator byte[]?(RedisValue value) => value._value switch
    {
        null => null,
        byte[] bytes => bytes,
        _ => Encoding.UTF8.GetBytes(value.ToString()!),
    };

    /// <summary>As an integer; throws when the value is not one.</summary>
    public static explicit operator long(RedisValue value) => value._value switch
    {
        long l => l,
        null => throw new InvalidCastException("The value is null."),
        _ => long.Parse(value.ToString()!, CultureInfo.InvariantCulture),
    };

    /// <summary>As a float; throws when the value is not one.</summary>
    public static explicit operator double(RedisValue value) => value._value switch
    {
        double d => d,
        long l => l,
        null => throw new InvalidCastException("The value is null."),
        _ => double.Parse(value.ToString()!, CultureInfo.InvariantCulture),
    };

    /// <summary>Writes the value as a RESP bulk string.</summary>
    internal void WriteBulk(System.Buffers.IBufferWriter<byte> writer)
    {
        if (_value is string text)
        {
            var length = Encoding.UTF8.GetByteCount(text);
            WriteHeader(writer, (byte)'$', length);
            var span = writer.GetSpan(length + 2);
            Encoding.UTF8.GetBytes(text, span);
            "\r\n"u8.CopyTo(span[length..]);
            writer.Advance(length + 2);
            return;
        }
        var bytes = ToBytes();
        WriteHeader(writer, (byte)'$', bytes.Length);
        var target = writer.GetSpan(bytes.Length + 2);
        bytes.CopyTo(target);
        "\r\n"u8.CopyTo(target[bytes.Length..]);
        writer.Advance(bytes.Length + 2);
    }

    /// <summary>Writes "*3\r\n", "$5\r\n" and the like.</summary>
    internal static void WriteHeader(System.Buffers.IBufferWriter<byte> writer, byte prefix, int count)
    {
        var span = writer.GetSpan(16);
        span[0] = prefix;
        System.Buffers.Text.Utf8Formatter.TryFormat(count, span[1..], out var written);
        span[written + 1] = (byte)'\r';
        span[written + 2] = (byte)'\n';
        writer.Advance(written + 3);
    }

    /// <summary>Bytes as Redis receives them.</summary>
    internal byte[] ToBytes() => _value switch
    {
        null => [],
        byte[] bytes => bytes,
        string s => Encoding.UTF8.GetBytes(s),
        long l => Encoding.ASCII.GetBytes(l.ToString(CultureInfo.InvariantCulture)),
        double d => Encoding.ASCII.GetBytes(d.ToString("R", CultureInfo.InvariantCulture)),
        _ => Encoding.UTF8.GetBytes(_value.ToString()!),
    };

    /// <inheritdoc />
    public override string? ToString() => _value switch
    {
        null => null,
        string s => s,
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        _ => _value.ToString(),
    };

    /// <inheritdoc />
    public bool Equals(RedisValue other) => (IsNull && other.IsNull) || (!IsNull && !other.IsNull && ToBytes().AsSpan().SequenceEqual(other.ToBytes()));

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is RedisValue other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => IsNull ? 0 : ToString()!.GetHashCode(StringComparison.Ordinal);

    /// <summary>Value equality.</summary>
    public static bool operator ==(RedisValue left, RedisValue right) => left.Equals(right);

    /// <summary>Value inequality.</summary>
    public static bool operator !=(RedisValue left, RedisValue right) => !left.Equals(right);
}

/// <summary>When a SET applies.</summary>
public enum When
{
    /// <summary>Always.</summary>
    Always,
    /// <summary>Only if the key exists (XX).</summary>
    Exists,
    /// <summary>Only if the key does not exist (NX).</summary>
    NotExists,
}

/// <summary>A field of a hash.</summary>
/// <param name="Name">Field name.</param>
/// <param name="Value">Field value.</param>
public readonly record struct HashEntry(RedisValue Name, RedisValue Value);

/// <summary>A field of a stream entry.</summary>
/// <param name="Name">Field name.</param>
/// <param name="Value">Field value.</param>
public readonly record struct NameValueEntry(RedisValue Name, RedisValue Value);

/// <summary>An entry of a stream.</summary>
/// <param name="Id">Its id ("1700000000000-0").</param>
/// <param name="Values">Its fields.</param>
public sealed record StreamEntry(RedisValue Id, NameValueEntry[] Values)
{
    /// <summary>The value of a field, or null.</summary>
    public RedisValue this[RedisValue name] => Values.FirstOrDefault(v => v.Name == name).Value;
}

/// <summary>What XPENDING says about a group.</summary>
/// <param name="PendingMessageCount">Entries delivered and not acknowledged.</param>
/// <param name="LowestPendingMessageId">The oldest of them.</param>
/// <param name="HighestPendingMessageId">The newest.</param>
/// <param name="Consumers">Pending entries per consumer.</param>
public sealed record StreamPendingInfo(long PendingMessageCount, RedisValue LowestPendingMessageId, RedisValue HighestPendingMessageId, StreamConsumer[] Consumers);

/// <summary>A consumer with pending entries.</summary>
/// <param name="Name">Consumer name.</param>
/// <param name="PendingMessageCount">Its pending entries.</param>
public sealed record StreamConsumer(RedisValue Name, long PendingMessageCount);

/// <summary>One pending entry (XPENDING's extended form).</summary>
/// <param name="MessageId">Entry id.</param>
/// <param name="ConsumerName">Who holds it.</param>
/// <param name="IdleTimeInMilliseconds">Since it was last delivered.</param>
/// <param name="DeliveryCount">How often it was delivered.</param>
public sealed record StreamPendingMessageInfo(RedisValue MessageId, RedisValue ConsumerName, long IdleTimeInMilliseconds, int DeliveryCount);

/// <summary>What XAUTOCLAIM returns.</summary>
/// <param name="NextStartId">Where the next scan starts ("0-0" when done).</param>
/// <param name="ClaimedEntries">Entries now owned by the claiming consumer.</param>
/// <param name="DeletedIds">Pending ids whose entries no longer exist.</param>
public sealed record StreamAutoClaimResult(RedisValue NextStartId, StreamEntry[] ClaimedEntries, RedisValue[] DeletedIds);
