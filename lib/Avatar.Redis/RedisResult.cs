using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace Avatar.Redis;

/// <summary>The kinds of RESP2 replies.</summary>
public enum ResultType
{
    /// <summary>+OK</summary>
    SimpleString,
    /// <summary>-ERR ...</summary>
    Error,
    /// <summary>:42</summary>
    Integer,
    /// <summary>$5 hello</summary>
    BulkString,
    /// <summary>*2 ...</summary>
    Array,
}

/// <summary>A reply from Redis, as parsed from RESP2.</summary>
public sealed class RedisResult
{
    private RedisResult(ResultType type, RedisValue value, RedisResult[]? items)
    {
        Type = type;
        Value = value;
        Items = items;
    }

    /// <summary>The kind of reply.</summary>
    public ResultType Type { get; }

    /// <summary>The value of a scalar reply (null for a null bulk string or null array).</summary>
    public RedisValue Value { get; }

    /// <summary>The elements of an array reply; null for scalars and the null array.</summary>
    public RedisResult[]? Items { get; }

    /// <summary>True for a null bulk string or null array.</summary>
    public bool IsNull => Items is null && Value.IsNull && Type is ResultType.BulkString or ResultType.Array;

    /// <summary>The scalar as text.</summary>
    public override string? ToString() => Type == ResultType.Array ? $"[{string.Join(", ", Items ?? [])}]" : Value.ToString();

    /// <summary>The scalar value.</summary>
    public static explicit operator RedisValue(RedisResult result) => result.Value;

    /// <summary>The scalar as an integer.</summary>
    public static explicit operator long(RedisResult result) => (long)result.Value;

    /// <summary>The scalar as text.</summary>
    public static explicit operator string?(RedisResult result) => result.Value.ToString();

    /// <summary>The elements of an array reply (empty for a null array).</summary>
    public RedisResult[] ToArray() => Items ?? [];

    internal static readonly RedisResult Ok = new(ResultType.SimpleString, "OK", null);

    /// <summary>
    /// Parses one reply from <paramref name="reader"/>; false (and nothing consumed) when the buffer does not hold a whole
    /// reply yet.
    /// </summary>
    internal static bool TryParse(ref SequenceReader<byte> reader, out RedisResult? result)
    {
        result = null;
        if (!reader.TryRead(out var prefix) || !reader.TryReadTo(out ReadOnlySpan<byte> line, "\r\n"u8))
        {
            return false;
        }
        switch (prefix)
        {
            case (byte)'+':
                result = line.SequenceEqual("OK"u8) ? Ok : new RedisResult(ResultType.SimpleString, Encoding.UTF8.GetString(line), null);
                return true;
            case (byte)'-':
                result = new RedisResult(ResultType.Error, Encoding.UTF8.GetString(line), null);
                return true;
            case (byte)':':
                result = new RedisResult(ResultType.Integer, ParseInteger(line), null);
                return true;
            case (byte)'$':
                var length = ParseInteger(line);
                if (length < 0)
                {
                    result = new RedisResult(ResultType.BulkString, RedisValue.Null, null);
                    return true;
                }
                if (reader.Remaining < length + 2)
                {
                    return false;
                }
                var bytes = new byte[length];
                reader.TryCopyTo(bytes);
                reader.Advance(length + 2);
                result = new RedisResult(ResultType.BulkString, bytes, null);
                return true;
            case (byte)'*':
                var count = ParseInteger(line);
                if (count < 0)
                {
                    result = new RedisResult(ResultType.Array, RedisValue.Null, null);
                    return true;
                }
                var items = new RedisResult[count];
                for (var i = 0; i < count; i++)
                {
                    if (!TryParse(ref reader, out var item))
                    {
                        return false;
                    }
                    items[i] = item!;
                }
                result = new RedisResult(ResultType.Array, RedisValue.Null, items);
                return true;
            default:
                throw new RedisConnectionException($"Unexpected RESP type byte 0x{prefix:x2}: the stream is out of step.");
        }
    }

    private static long ParseInteger(ReadOnlySpan<byte> text) =>
        Utf8Parser.TryParse(text, out long value, out var consumed) && consumed == text.Length
            ? value
            : throw new RedisConnectionException($"Malformed RESP integer '{Encoding.ASCII.GetString(text)}'.");
}
