using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Avatar.A2F.Contracts;
using Grpc.Core;
using Grpc.Net.Client;
using Nvidia.Ace.Services.AnimationData.V1;

namespace Avatar.A2F.Inference.Service;

/// <summary>
/// The channels to the controllers that animation goes back to, one per address for the life of the service. A controller
/// names its own animation address with each stream (metadata "avatar-animation-address"), so several controllers can
/// share the inference replicas: each stream's frames go to the controller that holds its client. Without that metadata,
/// the configured address is used.
/// </summary>
public sealed class AnimationChannels(InferenceOptions options) : IDisposable
{
    // Controllers come and go with their pods; a bound keeps a churn of addresses from growing without end.
    private const int MaxChannels = 256;

    private readonly ConcurrentDictionary<string, GrpcChannel> _channels = new(StringComparer.Ordinal);
    private readonly GrpcChannel _default = GrpcChannel.ForAddress(options.AnimationAddress);

    /// <summary>A client for the controller that a stream's callback metadata names, or for the configured one.</summary>
    /// <exception cref="RpcException">INVALID_ARGUMENT: an address that is not an http URL on a loopback or private IP.</exception>
    public AnimationDataService.AnimationDataServiceClient For(Metadata headers) => new(ChannelFor(headers));

    private GrpcChannel ChannelFor(Metadata headers)
    {
        if (headers.GetValue(A2FApi.AnimationCallbackHeader) is not { } address)
        {
            return _default;
        }
        if (!IsInternal(address))
        {
            // Inference only calls back inside the cluster: a caller cannot aim its traffic at an outside host.
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"{A2FApi.AnimationCallbackHeader} must be an http URL on a loopback or private IP address."));
        }
        if (_channels.TryGetValue(address, out var known))
        {
            return known;
        }
        if (_channels.Count >= MaxChannels)
        {
            foreach (var stale in _channels.Keys.Take(MaxChannels / 2).ToList())
            {
                // Forgotten, not disposed: disposing a channel would cancel the streams still using it.
                _channels.TryRemove(stale, out _);
            }
        }
        return _channels.GetOrAdd(address, a => GrpcChannel.ForAddress(a));
    }

    private static bool IsInternal(string address) =>
        Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Scheme == "http" && IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip)
        && (IPAddress.IsLoopback(ip) || IsPrivate(ip));

    private static bool IsPrivate(IPAddress ip)
    {
        var bytes = ip.GetAddressBytes();
        return ip.AddressFamily == AddressFamily.InterNetwork
            ? bytes[0] == 10 || (bytes[0] == 172 && bytes[1] is >= 16 and <= 31) || (bytes[0] == 192 && bytes[1] == 168) || (bytes[0] == 100 && bytes[1] is >= 64 and <= 127)
            : (bytes[0] & 0xfe) == 0xfc; // IPv6 unique local
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _default.Dispose();
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }
    }
}
