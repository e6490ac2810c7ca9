using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Avatar.Tests.LiveLink;

/// <summary>What Unreal's Live Link Face source would receive: UDP packets on a loopback port, decoded as they arrive.</summary>
internal sealed class LiveLinkReceiver : IDisposable
{
    private readonly UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly CancellationTokenSource _stop = new();
    private readonly List<LiveLinkPacket> _packets = [];
    private readonly List<string> _errors = [];
    private readonly Thread _receiving;

    public LiveLinkReceiver()
    {
        // A thread of its own, blocked in the kernel's receive: a packet is stamped when it arrives, not when a busy
        // thread pool gets round to it (measured: pool continuations here lagged by up to a second under load).
        _receiving = new Thread(Receive) { IsBackground = true, Name = "Live Link receiver" };
        _receiving.Start();
    }

    public int Port => ((IPEndPoint)_udp.Client.LocalEndPoint!).Port;

    public IReadOnlyList<LiveLinkPacket> Packets
    {
        get
        {
            lock (_packets)
            {
                return [.. _packets];
            }
        }
    }

    /// <summary>Why packets could not be decoded, one line each.</summary>
    public IReadOnlyList<string> Errors
    {
        get
        {
            lock (_packets)
            {
                return [.. _errors];
            }
        }
    }

    /// <summary>The first packet from now on that <paramref name="match"/> accepts.</summary>
    public async Task<LiveLinkPacket> WaitForAsync(Func<LiveLinkPacket, bool> match, TimeSpan timeout, int after = 0)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            if (Packets.Skip(after).FirstOrDefault(match) is { } packet)
            {
                return packet;
            }
            await Task.Delay(2);
        }
        throw new TimeoutException($"No such packet within {timeout.TotalSeconds} s ({Packets.Count} received).");
    }

    public void Dispose()
    {
        _stop.Cancel();
        _udp.Dispose();
        _receiving.Join();
    }

    private void Receive()
    {
        var remote = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            byte[] data;
            try
            {
                data = _udp.Receive(ref remote);
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
                return;
            }
            try
            {
                var packet = LiveLinkPacket.Decode(data, Stopwatch.GetTimestamp());
                lock (_packets)
                {
                    _packets.Add(packet);
                }
            }
            catch (Exception e) when (e is InvalidDataException or IndexOutOfRangeException or ArgumentException)
            {
                lock (_packets)
                {
                    _errors.Add(e.Message);
                }
            }
        }
    }
}

/// <summary>
/// One Live Link Face packet, decoded from the layout that Unreal's Apple ARKit Face Support source reads (the layout
/// LLV and PyLiveLinkFace document), written here independently of the tool: every number is big-endian; uint8 version,
/// int32-length-prefixed device id and subject name, int32 frame number, float sub-frame, int32 fps numerator and
/// denominator, uint8 curve count, then that many floats.
/// </summary>
internal sealed record LiveLinkPacket(byte Version, string DeviceId, string Subject, int FrameNumber, float SubFrame, int FpsNumerator,
    int FpsDenominator, float[] Curves, long ReceivedAt)
{
    // Indices in Epic's EARFaceBlendShape order.
    public const int EyeBlinkLeft = 0, JawOpen = 17, TongueOut = 51, HeadYaw = 52;

    public double FrameTime => FrameNumber + SubFrame;

    public static LiveLinkPacket Decode(byte[] data, long receivedAt)
    {
        var at = 0;
        int Int32() { var value = (data[at] << 24) | (data[at + 1] << 16) | (data[at + 2] << 8) | data[at + 3]; at += 4; return value; }
        float Single() => BitConverter.Int32BitsToSingle(Int32());
        string Text() { var length = Int32(); var text = Encoding.UTF8.GetString(data, at, length); at += length; return text; }

        var version = data[at++];
        var device = Text();
        var subject = Text();
        var frame = Int32();
        var subFrame = Single();
        var numerator = Int32();
        var denominator = Int32();
        var count = data[at++];
        var curves = new float[count];
        for (var i = 0; i < count; i++)
        {
            curves[i] = Single();
        }
        if (at != data.Length)
        {
            throw new InvalidDataException($"The packet has {data.Length} bytes; its fields end at {at}.");
        }
        return new LiveLinkPacket(version, device, subject, frame, subFrame, numerator, denominator, curves, receivedAt);
    }

    public double SecondsSince(LiveLinkPacket earlier) => Stopwatch.GetElapsedTime(earlier.ReceivedAt, ReceivedAt).TotalSeconds;
}
