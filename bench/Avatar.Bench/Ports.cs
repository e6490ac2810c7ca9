using System.Net;
using System.Net.Sockets;

namespace Avatar.Bench;

internal static class Ports
{
    /// <summary>A port free on the loopback address now.</summary>
    public static int Free()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
