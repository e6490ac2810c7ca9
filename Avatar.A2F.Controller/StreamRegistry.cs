using System.Collections.Concurrent;
using System.Threading.Channels;
using AnimationData = Nvidia.Ace.AnimationData.V1;

namespace Avatar.A2F.Controller;

/// <summary>
/// Pairs the two one-way streams of a request: the client's call waits under its stream id for the animation that
/// inference pushes back on the animation port.
/// </summary>
public sealed class StreamRegistry
{
    private readonly ConcurrentDictionary<string, Channel<AnimationData.AnimationDataStream>> _streams = new();

    /// <summary>Streams open now.</summary>
    public int Count => _streams.Count;

    /// <summary>Registers a stream; the reader gets its animation. Bounded, so a slow client slows inference, never memory.</summary>
    public ChannelReader<AnimationData.AnimationDataStream> Open(string streamId)
    {
        var channel = Channel.CreateBounded<AnimationData.AnimationDataStream>(new BoundedChannelOptions(256) { SingleReader = true, SingleWriter = true });
        if (!_streams.TryAdd(streamId, channel))
        {
            throw new InvalidOperationException($"Stream {streamId} is already open.");
        }
        return channel.Reader;
    }

    /// <summary>The writer of an open stream, or null if no client waits for it.</summary>
    public ChannelWriter<AnimationData.AnimationDataStream>? Find(string streamId) => _streams.TryGetValue(streamId, out var channel) ? channel.Writer : null;

    /// <summary>Forgets a stream.</summary>
    public void Close(string streamId)
    {
        if (_streams.TryRemove(streamId, out var channel))
        {
            channel.Writer.TryComplete();
        }
    }
}
