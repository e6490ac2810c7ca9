using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Avatar.LiveLink;

/// <summary>Sends Live Link Face packets to one unicast address, the one the user named.</summary>
public sealed class LiveLinkSender : IDisposable
{
    private readonly Socket _socket;
    private readonly TextWriter _log;
    private bool _warnedUnreachable;

    private LiveLinkSender(IPEndPoint target, string deviceId, string subject, TextWriter log)
    {
        Target = target;
        DeviceId = deviceId;
        Subject = subject;
        _log = log;
        _socket = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        // Connected, so the kernel reports a closed port back to us (ICMP) instead of dropping it silently.
        _socket.Connect(target);
    }

    public IPEndPoint Target { get; }

    public string DeviceId { get; }

    public string Subject { get; }

    /// <exception cref="ToolException">The host cannot be resolved, or is not a unicast address, or a name is unusable.</exception>
    public static async Task<LiveLinkSender> CreateAsync(string host, int port, string deviceId, string subject, TextWriter log,
        CancellationToken cancellationToken)
    {
        CheckName("--device-id", deviceId);
        CheckName("--subject", subject);
        var address = await ResolveAsync(host, cancellationToken);
        if (RefusalFor(address) is { } why)
        {
            throw new ToolException($"--host {host} ({address}) is {why}: Live Link packets go to one machine only; name the Unreal editor's address.", ToolException.Usage);
        }
        return new LiveLinkSender(new IPEndPoint(address, port), deviceId, subject, log);
    }

    /// <summary>Sends one packet; a closed port is reported once (the editor may not be listening yet) and never stops the tool.</summary>
    public void Send(double frameTime, ReadOnlySpan<float> curves)
    {
        var packet = LiveLinkFacePacket.Encode(DeviceId, Subject, frameTime, curves);
        try
        {
            _socket.Send(packet);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.HostUnreachable or SocketError.NetworkUnreachable)
        {
            // UDP has no connection: the next packet may well arrive once the editor listens.
            if (!_warnedUnreachable)
            {
                _warnedUnreachable = true;
                _log.WriteLine($"Nothing receives Live Link packets at {Target} yet ({e.SocketErrorCode}); sending on.");
            }
        }
    }

    public void Dispose() => _socket.Dispose();

    /// <summary>Why <paramref name="address"/> is not one machine's address, or null when it is.</summary>
    internal static string? RefusalFor(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            return "the unspecified address";
        }
        if (address.Equals(IPAddress.Broadcast) || LocalBroadcastAddresses().Contains(address))
        {
            return "a broadcast address";
        }
        var bytes = address.GetAddressBytes();
        return (address.AddressFamily == AddressFamily.InterNetwork && bytes[0] is >= 224 and <= 239) || address.IsIPv6Multicast
            ? "a multicast address"
            : null;
    }

    private static async Task<IPAddress> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(host, out var address))
        {
            return address;
        }
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(host, cancellationToken);
            return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
                ?? throw new ToolException($"--host {host} has no address.");
        }
        catch (SocketException e)
        {
            throw new ToolException($"--host {host} cannot be resolved: {e.Message}");
        }
    }

    /// <summary>The subnet broadcast addresses of this machine's interfaces (192.168.1.255 for 192.168.1.0/24, say).</summary>
    private static HashSet<IPAddress> LocalBroadcastAddresses()
    {
        var result = new HashSet<IPAddress>();
        foreach (var unicast in NetworkInterface.GetAllNetworkInterfaces().SelectMany(i => i.GetIPProperties().UnicastAddresses))
        {
            if (unicast.Address.AddressFamily != AddressFamily.InterNetwork || unicast.PrefixLength is <= 0 or >= 31)
            {
                continue;
            }
            var bits = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(unicast.Address.GetAddressBytes());
            var broadcast = bits | (uint.MaxValue >> unicast.PrefixLength);
            var bytes = new byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes, broadcast);
            result.Add(new IPAddress(bytes));
        }
        return result;
    }

    private static void CheckName(string option, string value)
    {
        // Printable ASCII keeps the name the same whichever way the engine decodes it; two names of 250 fit in a packet.
        if (value.Length is 0 or > 250 || value.Any(c => c is < ' ' or > '~'))
        {
            throw new ToolException($"{option} must be 1 to 250 printable ASCII characters.", ToolException.Usage);
        }
    }
}
