using Avatar.A2F.Contracts;
using Avatar.A2F.Inference.Animation;
using Avatar.A2F.Inference.LipSync;
using Grpc.Core;
using AnimationData = Nvidia.Ace.AnimationData.V1;
using Nvidia.Ace.A2F.V1;
using StatusMessage = Nvidia.Ace.Status.V1.Status;

namespace Avatar.A2F.Inference.Service;

/// <summary>Where the animation goes: the controller's AnimationDataService.</summary>
public sealed class InferenceOptions
{
    /// <summary>The controller's animation endpoint (A2F:AnimationAddress, or the AppHost's services__a2f-controller__animation__0).</summary>
    public string AnimationAddress { get; set; } = "http://127.0.0.1:51000";

    /// <summary>Run the model on CUDA device 0 (A2F:UseCuda).</summary>
    public bool UseCuda { get; set; }

    /// <summary>The model file (A2F:ModelPath); default Models/lipsync.onnx beside the service.</summary>
    public string ModelPath { get; set; } = LipSyncCommands.DefaultModelPath;
}

/// <summary>
/// nvidia_ace.services.a2f.v1.A2FService/PushAudioStream: audio in from the controller, animation out to the controller's
/// AnimationDataService: a header with the 68 names, the input audio echoed, 30 FPS frames stamped from clip start, then
/// a status. Every stream's model runs are batched with every other stream's.
/// </summary>
public sealed class A2FInferenceService(BatchingVisemeModel model, AnimationChannels animation, ILogger<A2FInferenceService> logger)
    : Nvidia.Ace.Services.A2F.V1.A2FService.A2FServiceBase
{
    /// <inheritdoc />
    public override async Task<StatusMessage> PushAudioStream(IAsyncStreamReader<AudioStream> requestStream, ServerCallContext context)
    {
        var cancellationToken = context.CancellationToken;
        // Headers at once: the controller takes them as this replica accepting the stream, and gives up on one that
        // stays silent (a proxy can accept a connection for a replica that is gone).
        await context.WriteResponseHeadersAsync([]);
        if (!await requestStream.MoveNext(cancellationToken) || requestStream.Current.StreamPartCase != AudioStream.StreamPartOneofCase.AudioStreamHeader)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "The first message must be audio_stream_header."));
        }
        var header = requestStream.Current.AudioStreamHeader;
        if (AudioRules.Check(header.AudioHeader) is { } audioError)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, audioError));
        }
        var settings = HeaderSettings.From(header);
        var rate = header.AudioHeader.SamplesPerSecond;
        var lipSync = new LipSyncStream(model, (int)rate);
        var post = InvalidArgumentOnUnknownNames(() => new AnimationPostProcessor(settings, seed: header.AnimationIds?.StreamId?.GetHashCode(StringComparison.Ordinal) ?? 0));
        var emotions = new Queue<Nvidia.Ace.EmotionWithTimecode.V1.EmotionWithTimeCode>();

        using var push = animation.For(context.RequestHeaders).PushAnimationDataStream(cancellationToken: cancellationToken);
        await push.RequestStream.WriteAsync(new AnimationData.AnimationDataStream
        {
            AnimationDataStreamHeader = new AnimationData.AnimationDataStreamHeader
            {
                AnimationIds = header.AnimationIds ?? new(),
                SourceServiceId = "avatar-a2f-inference",
                AudioHeader = header.AudioHeader,
                SkelAnimationHeader = new AnimationData.SkelAnimationHeader { BlendShapes = { A2FApi.BlendShapeNames } },
                StartTimeCodeSinceEpoch = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0,
            },
        }, cancellationToken);

        var frames = new List<BlendFrame>();
        long samples = 0;
        while (await requestStream.MoveNext(cancellationToken))
        {
            if (requestStream.Current.StreamPartCase != AudioStream.StreamPartOneofCase.AudioWithEmotion)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, "Only one audio_stream_header is allowed, at the start."));
            }
            var chunk = requestStream.Current.AudioWithEmotion;
            if (AudioRules.CheckBuffer(chunk.AudioBuffer.Length, samples, rate) is { } bufferError)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, bufferError));
            }
            foreach (var emotion in chunk.Emotions.OrderBy(e => e.TimeCode))
            {
                emotions.Enqueue(emotion);
            }
            // The input audio, echoed with its position so a client can play it in sync with the frames.
            var echo = new AnimationData.AudioWithTimeCode { TimeCode = (double)samples / rate, AudioBuffer = chunk.AudioBuffer };
            samples += chunk.AudioBuffer.Length / 2;
            await lipSync.PushAsync(AudioRules.ToFloat(chunk.AudioBuffer.Span), frames, cancellationToken);
            await SendAsync(echo, frames, post, emotions, push.RequestStream, cancellationToken);
        }
        await lipSync.CompleteAsync(frames, cancellationToken);
        await SendAsync(null, frames, post, emotions, push.RequestStream, cancellationToken);
        await push.RequestStream.WriteAsync(new AnimationData.AnimationDataStream
        {
            Status = new StatusMessage { Code = StatusMessage.Types.Code.Success, Message = $"{(double)samples / rate:0.000} s of audio processed" },
        }, cancellationToken);
        await push.RequestStream.CompleteAsync();
        await push.ResponseAsync;
        Log.StreamDone(logger, header.AnimationIds?.StreamId ?? "", (double)samples / rate);
        return new StatusMessage { Code = StatusMessage.Types.Code.Success, Message = "audio processed" };
    }

    /// <summary>The post-processor refuses unknown blend shape and emotion names; for the client that is INVALID_ARGUMENT.</summary>
    private static T InvalidArgumentOnUnknownNames<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (ArgumentException ex)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, ex.Message));
        }
    }

    /// <summary>
    /// One message per chunk: its audio echoed and every frame it made ready (about one for a 35 ms chunk, 30 for a
    /// second). A message per frame and another per echo cost twice the messages through inference, the controller
    /// and the client; the A2F bench measured most of a stream's CPU there.
    /// </summary>
    private static async Task SendAsync(AnimationData.AudioWithTimeCode? echo, List<BlendFrame> frames, AnimationPostProcessor post,
        Queue<Nvidia.Ace.EmotionWithTimecode.V1.EmotionWithTimeCode> emotions, IClientStreamWriter<AnimationData.AnimationDataStream> writer,
        CancellationToken cancellationToken)
    {
        if (echo is null && frames.Count == 0)
        {
            return;
        }
        var data = new AnimationData.AnimationData { Audio = echo };
        if (frames.Count > 0)
        {
            data.SkelAnimation = new AnimationData.SkelAnimation();
            foreach (var frame in frames)
            {
                while (emotions.TryPeek(out var next) && next.TimeCode <= frame.TimeCode)
                {
                    var emotion = emotions.Dequeue().Emotion;
                    InvalidArgumentOnUnknownNames(() => { post.SetEmotion(emotion); return true; });
                }
                post.Apply(frame);
                data.SkelAnimation.BlendShapeWeights.Add(new AnimationData.FloatArrayWithTimeCode { TimeCode = frame.TimeCode, Values = { frame.Weights } });
            }
        }
        frames.Clear();
        await writer.WriteAsync(new AnimationData.AnimationDataStream { AnimationData = data }, cancellationToken);
    }
}

internal static partial class Log
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Stream {StreamId}: {Seconds:0.00} s of audio animated")]
    public static partial void StreamDone(ILogger logger, string streamId, double seconds);
}
