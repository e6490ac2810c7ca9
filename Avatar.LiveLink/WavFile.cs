using System.Buffers.Binary;
using System.Text;

namespace Avatar.LiveLink;

/// <summary>16-bit PCM WAV files: read (mono or stereo, mixed down to mono) and written as they grow.</summary>
public static class WavFile
{
    /// <summary>The file's samples as mono 16-bit little-endian PCM, and its sample rate.</summary>
    /// <exception cref="ToolException">The file is missing, or not 16-bit PCM WAV.</exception>
    public static (byte[] Pcm, int SampleRate) Read(string path)
    {
        byte[] file;
        try
        {
            file = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ToolException($"{path} cannot be read: {e.Message}");
        }
        var span = file.AsSpan();
        if (span.Length < 12 || !span[..4].SequenceEqual("RIFF"u8) || !span[8..12].SequenceEqual("WAVE"u8))
        {
            throw new ToolException($"{path} is not a WAV file (no RIFF/WAVE header).");
        }
        int channels = 0, rate = 0, bits = 0, format = 0;
        for (var at = 12; at + 8 <= span.Length;)
        {
            var id = Encoding.ASCII.GetString(span.Slice(at, 4));
            var size = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(span[(at + 4)..]), (uint)(span.Length - at - 8));
            var body = span.Slice(at + 8, size);
            if (id == "fmt " && size >= 16)
            {
                format = BinaryPrimitives.ReadUInt16LittleEndian(body);
                channels = BinaryPrimitives.ReadUInt16LittleEndian(body[2..]);
                rate = BinaryPrimitives.ReadInt32LittleEndian(body[4..]);
                bits = BinaryPrimitives.ReadUInt16LittleEndian(body[14..]);
                // WAVE_FORMAT_EXTENSIBLE names its real format in the first two bytes of its sub-format GUID.
                if (format == 0xFFFE && size >= 26)
                {
                    format = BinaryPrimitives.ReadUInt16LittleEndian(body[24..]);
                }
            }
            else if (id == "data")
            {
                if (format != 1 || bits != 16 || channels is not (1 or 2))
                {
                    throw new ToolException($"{path} is format {format}, {bits}-bit, {channels} channel(s): only 16-bit PCM, mono or stereo, is read.");
                }
                return (channels == 1 ? body[..(size & ~1)].ToArray() : MixDown(body), rate);
            }
            at += 8 + size + (size & 1);
        }
        throw new ToolException($"{path} has no fmt and data chunks.");
    }

    private static byte[] MixDown(ReadOnlySpan<byte> stereo)
    {
        var mono = new byte[stereo.Length / 4 * 2];
        for (var i = 0; i < mono.Length / 2; i++)
        {
            var mixed = (BinaryPrimitives.ReadInt16LittleEndian(stereo[(4 * i)..]) + BinaryPrimitives.ReadInt16LittleEndian(stereo[((4 * i) + 2)..])) / 2;
            BinaryPrimitives.WriteInt16LittleEndian(mono.AsSpan(2 * i), (short)mixed);
        }
        return mono;
    }
}

/// <summary>A mono 16-bit PCM WAV file written as audio plays; its sizes are set right on every flush and at the end.</summary>
public sealed class WavWriter : IDisposable
{
    private readonly FileStream _file;
    private int _sampleRate;
    private long _dataBytes;

    /// <exception cref="ToolException">The file cannot be created.</exception>
    public WavWriter(string path)
    {
        Path = path;
        try
        {
            _file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ToolException($"--wav {path} cannot be written: {e.Message}");
        }
    }

    public string Path { get; }

    public void Write(ReadOnlySpan<byte> pcm, int sampleRate)
    {
        if (pcm.IsEmpty)
        {
            return;
        }
        if (_sampleRate == 0)
        {
            _sampleRate = sampleRate;
            _file.Write(new byte[44]);
        }
        else if (sampleRate != _sampleRate)
        {
            throw new ToolException($"The audio changed from {_sampleRate} Hz to {sampleRate} Hz; one WAV file holds one rate.");
        }
        _file.Write(pcm);
        _dataBytes += pcm.Length;
    }

    /// <summary>Writes the header for what is there so far, so the file plays even if the tool is killed later.</summary>
    public void Flush()
    {
        if (_sampleRate == 0)
        {
            return;
        }
        var header = new byte[44];
        var span = header.AsSpan();
        "RIFF"u8.CopyTo(span);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], (uint)(36 + _dataBytes));
        "WAVEfmt "u8.CopyTo(span[8..]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[16..], 16);
        BinaryPrimitives.WriteUInt16LittleEndian(span[20..], 1);
        BinaryPrimitives.WriteUInt16LittleEndian(span[22..], 1);
        BinaryPrimitives.WriteUInt32LittleEndian(span[24..], (uint)_sampleRate);
        BinaryPrimitives.WriteUInt32LittleEndian(span[28..], (uint)(_sampleRate * 2));
        BinaryPrimitives.WriteUInt16LittleEndian(span[32..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(span[34..], 16);
        "data"u8.CopyTo(span[36..]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[40..], (uint)_dataBytes);
        var end = _file.Position;
        _file.Position = 0;
        _file.Write(header);
        _file.Position = end;
        _file.Flush();
    }

    public void Dispose()
    {
        Flush();
        _file.Dispose();
    }
}
