using Grpc.Net.Client;
using Nvidia.Ace.Services.A2F.V1;

namespace Avatar.A2F.Controller;

/// <summary>The inference replicas, a channel to each for the life of the controller, taken in turn for each stream.</summary>
public sealed class InferenceReplicas : IDisposable
{
    private readonly GrpcChannel[] _channels;
    private readonly A2FService.A2FServiceClient[] _clients;
    private int _next;

    /// <summary>Opens a channel to each of <see cref="ControllerOptions.InferenceAddresses"/>.</summary>
    public InferenceReplicas(ControllerOptions options)
    {
        _channels = [.. options.InferenceAddresses.Select(address => GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            // A dead inference must show as UNAVAILABLE within a second, not as a hang.
            HttpHandler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(1), EnableMultipleHttp2Connections = true },
            // After an outage the channel reconnects at this pace at the slowest: a restarted replica serves again within seconds.
            MaxReconnectBackoff = TimeSpan.FromSeconds(2),
            MaxReceiveMessageSize = 16 * 1024 * 1024,
        }))];
        _clients = [.. _channels.Select(channel => new A2FService.A2FServiceClient(channel))];
    }

    /// <summary>The replica for the next stream (round robin).</summary>
    public A2FService.A2FServiceClient Next() => _clients[(int)((uint)Interlocked.Increment(ref _next) % _clients.Length)];

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }
    }
}
