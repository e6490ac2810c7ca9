using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.IO.Pipelines;
using System.Text;

namespace Avatar.Grpc;

/// <summary>gRPC's length-prefixed messages: a compressed flag byte, a 4-byte big-endian length, the message.</summary>
internal static class Framing
{
    public const int HeaderSize = 5;

    /// <summary>Reads one message; null at the clean end of the stream.</summary>
    public static async ValueTask<byte[]?> ReadAsync(PipeReader reader, int maxSize, string? encoding, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (buffer.Length >= HeaderSize)
            {
                var (flag, length) = ReadHeader(buffer);
                if (length > maxSize)
                {
                    reader.AdvanceTo(buffer.Start);
                    throw new RpcException(StatusCode.ResourceExhausted, $"Received message larger than max ({length} vs. {maxSize})");
                }
                if (buffer.Length >= HeaderSize + length)
                {
                    var payload = buffer.Slice(HeaderSize, length).ToArray();
                    reader.AdvanceTo(buffer.GetPosition(HeaderSize + length));
                    return flag switch
                    {
                        0 => payload,
                        1 when encoding == "gzip" => Gunzip(payload, maxSize),
                        1 => throw new RpcException(StatusCode.Unimplemented, $"Message compressed with '{encoding ?? "no encoding"}', which is not supported (gzip is)."),
                        _ => throw new RpcException(StatusCode.Internal, $"Invalid compressed flag {flag}."),
                    };
                }
            }
            if (result.IsCompleted)
            {
                reader.AdvanceTo(buffer.End);
                return buffer.Length == 0 ? null : throw new RpcException(StatusCode.Internal, "The stream ended inside a message.");
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static (byte Flag, uint Length) ReadHeader(ReadOnlySequence<byte> buffer)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(header);
        return (header[0], BinaryPrimitives.ReadUInt32BigEndian(header[1..]));
    }

    /// <summary>Writes one message (uncompressed) and flushes it.</summary>
    public static async ValueTask WriteAsync(PipeWriter writer, byte[] message, int maxSize, CancellationToken cancellationToken)
    {
        if (message.Length > maxSize)
        {
            throw new RpcException(StatusCode.ResourceExhausted, $"Sending message exceeds the maximum configured message size ({message.Length} vs. {maxSize})");
        }
        var span = writer.GetSpan(HeaderSize + message.Length);
        span[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)message.Length);
        message.CopyTo(span[HeaderSize..]);
        writer.Advance(HeaderSize + message.Length);
        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One framed message as bytes (for request bodies).</summary>
    public static byte[] Frame(byte[] message)
    {
        var frame = new byte[HeaderSize + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Length);
        message.CopyTo(frame, HeaderSize);
        return frame;
    }

    private static byte[] Gunzip(byte[] compressed, int maxSize)
    {
        using var input = new GZipStream(new MemoryStream(compressed), CompressionMode.Decompress);
        using var output = new MemoryStream();
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = input.Read(buffer)) > 0)
            {
                output.Write(buffer, 0, read);
                if (output.Length > maxSize)
                {
                    throw new RpcException(StatusCode.ResourceExhausted, $"Decompressed message larger than max ({maxSize})");
                }
            }
        }
        catch (InvalidDataException ex)
        {
            throw new RpcException(StatusCode.Internal, $"Invalid gzip data: {ex.Message}");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return output.ToArray();
    }

    /// <summary>grpc-timeout: an integer of at most 8 digits and a unit (H, M, S, m, u, n).</summary>
    public static TimeSpan? ParseTimeout(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length < 2 || !long.TryParse(value.AsSpan(0, value.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            return null;
        }
        return value[^1] switch
        {
            'H' => TimeSpan.FromHours(amount),
            'M' => TimeSpan.FromMinutes(amount),
            'S' => TimeSpan.FromSeconds(amount),
            'm' => TimeSpan.FromMilliseconds(amount),
            'u' => TimeSpan.FromMicroseconds(amount),
            'n' => TimeSpan.FromTicks(amount / 100),
            _ => null,
        };
    }

    public static string FormatTimeout(TimeSpan timeout)
    {
        var ms = Math.Max(1, (long)Math.Ceiling(timeout.TotalMilliseconds));
        return ms < 100_000_000 ? $"{ms}m" : $"{Math.Min(99_999_999, (long)timeout.TotalSeconds)}S";
    }

    /// <summary>grpc-message is percent-encoded UTF-8 (spec: anything outside printable ASCII, and '%').</summary>
    public static string EncodeMessage(string message)
    {
        var builder = new StringBuilder(message.Length);
        foreach (var b in Encoding.UTF8.GetBytes(message))
        {
            if (b is >= 0x20 and <= 0x7E && b != (byte)'%')
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }
        return builder.ToString();
    }

    public static string DecodeMessage(string? message) => string.IsNullOrEmpty(message) ? "" : Uri.UnescapeDataString(message);
}
