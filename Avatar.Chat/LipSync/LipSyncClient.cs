using System.Runtime.CompilerServices;
using Grpc.Core;
using Grpc.Net.Client;
using Google.Protobuf;
using Nvidia.Ace.Audio.V1;
using Nvidia.Ace.Services.A2FController.V1;
using Controller = Nvidia.Ace.Controller.V1;

namespace Avatar.Chat.LipSync;

/// <summary>One frame of the face: a time on the clip's clock and the 68 blend shape weights (A2FApi.BlendShapeNames).</summary>
public readonly record struct FaceFrame(double Time, float[] Weights);

/// <summary>Turns speech into blend shape frames through the A2F controller (NVIDIA's ProcessAudioStream).</summary>
public sealed class LipSyncClient(GrpcChannel channel) : IDisposable
{
    // 100 ms pieces: small enough that the controller starts on a sentence at once, large enough to cost little.
    private const double ChunkSeconds = 0.1;

    private readonly A2FControllerService.A2FControllerServiceClient _controller = new(channel);

    /// <summary>Streams the clip's audio to the controller and yields the frames as they come back.</summary>
    /// <exception cref="RpcException">The controller refused the audio or is unavailable.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async IAsyncEnumerable<FaceFrame> AnimateAsync(ReadOnlyMemory<byte> pcm16, int sampleRate,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var call = _controller.ProcessAudioStream(cancellationToken: cancellationToken);
        var sending = SendAsync(call.RequestStream, pcm16, sampleRate, cancellationToken);
        await foreach (var message in call.ResponseStream.ReadAllAsync(cancellationToken))
        {
            foreach (var frame in message.AnimationData?.SkelAnimation?.BlendShapeWeights ?? [])
            {
                yield return new FaceFrame(frame.TimeCode, [.. frame.Values]);
            }
        }
        await sending;
    }

    private static async Task SendAsync(IClientStreamWriter<Controller.AudioStream> requests, ReadOnlyMemory<byte> pcm16, int sampleRate,
        CancellationToken cancellationToken)
    {
        await requests.WriteAsync(new Controller.AudioStream
        {
            AudioStreamHeader = new Controller.AudioStreamHeader
            {
                AudioHeader = new AudioHeader
                {
                    AudioFormat = AudioHeader.Types.AudioFormat.Pcm, ChannelCount = 1, SamplesPerSecond = (uint)sampleRate, BitsPerSample = 16,
                },
            },
        }, cancellationToken);
        var chunk = (int)(sampleRate * ChunkSeconds) * 2;
        for (var offset = 0; offset < pcm16.Length; offset += chunk)
        {
            var piece = pcm16.Slice(offset, Math.Min(chunk, pcm16.Length - offset));
            await requests.WriteAsync(new Controller.AudioStream { AudioWithEmotion = new() { AudioBuffer = ByteString.CopyFrom(piece.Span) } }, cancellationToken);
        }
        await requests.WriteAsync(new Controller.AudioStream { EndOfAudio = new() }, cancellationToken);
        await requests.CompleteAsync();
    }

    /// <inheritdoc />
    public void Dispose() => channel.Dispose();
}
