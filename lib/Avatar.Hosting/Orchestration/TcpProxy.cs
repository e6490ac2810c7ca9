using System.Net;
using System.Net.Sockets;

namespace Avatar.Hosting.Orchestration;

/// <summary>
/// Keeps a resource's published port stable in front of its replicas, as Aspire's orchestrator does: each
/// accepted connection goes to the next healthy replica (round robin), falling back to any replica that accepts.
/// It works at the TCP level, so HTTP keep-alive connections stay on the replica that accepted them.
/// </summary>
internal sealed class TcpProxy(int port, Func<IReadOnlyList<(int Port, bool Healthy)>> backends) : IAsyncDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly CancellationTokenSource _stopping = new();
    private Task _accepting = Task.CompletedTask;
    private int _next;

    public void Start()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        _listener.Listen(512);
        _accepting = AcceptLoopAsync();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        client.NoDelay = true;
        using (client)
        {
            var upstream = await ConnectAsync().ConfigureAwait(false);
            if (upstream is null)
            {
                return;
            }
            using (upstream)
            {
                await Task.WhenAll(PumpAsync(client, upstream), PumpAsync(upstream, client)).ConfigureAwait(false);
            }
        }
    }

    private async Task<Socket?> ConnectAsync()
    {
        var candidates = backends();
        var healthy = candidates.Where(b => b.Healthy).Select(b => b.Port).ToArray();
        var ordered = healthy.Length > 0 ? healthy : [.. candidates.Select(b => b.Port)];
        var start = Interlocked.Increment(ref _next);
        for (var i = 0; i < ordered.Length; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, ordered[(int)((uint)(start + i) % ordered.Length)]), _stopping.Token).ConfigureAwait(false);
                return socket;
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                socket.Dispose();
            }
        }
        return null;
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stopping.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    // Pass the half-close on so request/response protocols see end-of-stream.
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stopping.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // One side went away: closing both (by the caller's using) ends the other pump.
            try { to.Shutdown(SocketShutdown.Both); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        await _accepting.ConfigureAwait(false);
        _stopping.Dispose();
    }
}
