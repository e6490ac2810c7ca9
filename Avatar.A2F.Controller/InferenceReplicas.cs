using Grpc.Net.Client;
using Nvidia.Ace.Services.A2F.V1;

namespace Avatar.A2F.Controller;

/// <summary>
/// The inference replicas: <see cref="ControllerOptions.ConnectionsPerAddress"/> channels to each address (each its own
/// HTTP/2 connection) for the life of the controller, taken in turn for each stream.
/// </summary>
public sealed class InferenceReplicas : IDisposable
{
    /// <summary>How long a replica may take to accept its first streams, warming up (JIT, first connections).</summary>
    private static readonly TimeSpan s_coldAcceptTimeout = TimeSpan.FromSeconds(10);

    private readonly Connection[] _connections;
    private int _next;

    /// <summary>Opens the channels to each of <see cref="ControllerOptions.InferenceAddresses"/>.</summary>
    public InferenceReplicas(ControllerOptions options)
    {
        _connections = [.. options.InferenceAddresses.SelectMany(address =>
        {
            var warm = new Warmth();
            return Enumerable.Range(0, Math.Max(1, options.ConnectionsPerAddress)).Select(_ => new Connection(GrpcChannel.ForAddress(address, new GrpcChannelOptions
            {
                // A dead inference must show as UNAVAILABLE within a second, not as a hang.
                HttpHandler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(1), EnableMultipleHttp2Connections = true },
                // After an outage the channel reconnects at this pace at the slowest: a restarted replica serves again within seconds.
                MaxReconnectBackoff = TimeSpan.FromSeconds(2),
                MaxReceiveMessageSize = 16 * 1024 * 1024,
            }), warm, options.InferenceAcceptTimeout));
        })];
    }

    /// <summary>The connection for the next stream (round robin).</summary>
    public Connection Next() => _connections[(int)((uint)Interlocked.Increment(ref _next) % _connections.Length)];

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var connection in _connections)
        {
            connection.Channel.Dispose();
        }
    }

    /// <summary>One HTTP/2 connection to an inference address.</summary>
    public sealed class Connection(GrpcChannel channel, Warmth warmth, TimeSpan acceptTimeout)
    {
        internal GrpcChannel Channel { get; } = channel;

        /// <summary>The generated client over this connection.</summary>
        public A2FService.A2FServiceClient Client { get; } = new(channel);

        /// <summary>
        /// How long to wait for inference to accept a stream: the configured limit once the address has accepted one,
        /// longer before, while the replicas behind it warm up.
        /// </summary>
        public TimeSpan AcceptTimeout => warmth.Accepted ? acceptTimeout : s_coldAcceptTimeout;

        /// <summary>Records that the address accepted a stream.</summary>
        public void Accepted() => warmth.Accepted = true;
    }

    /// <summary>Whether an address has accepted a stream yet, shared by its connections.</summary>
    public sealed class Warmth
    {
        private volatile bool _accepted;

        /// <summary>True once any connection to the address carried an accepted stream.</summary>
        public bool Accepted
        {
            get => _accepted;
            set => _accepted = value;
        }
    }
}
