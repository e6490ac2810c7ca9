using System.Threading.RateLimiting;
using Avatar.A2F.Contracts;
using Grpc.Core;
using AnimationData = Nvidia.Ace.AnimationData.V1;
using Client = Nvidia.Ace.Controller.V1;
using Inference = Nvidia.Ace.A2F.V1;
using StatusMessage = Nvidia.Ace.Status.V1.Status;

namespace Avatar.A2F.Controller;

/// <summary>
/// nvidia_ace.services.a2f_controller.v1.A2FControllerService/ProcessAudioStream: the client's bidirectional stream,
/// bridged to inference's one-way streams. It validates the header, makes the animation ids, pushes the audio to an
/// inference replica (round robin), pairs the animation that comes back on the animation port by stream id, and relays
/// the header, frames, END_OF_A2F_AUDIO_PROCESSING and SUCCESS to the client.
/// </summary>
public sealed class A2FControllerService(StreamRegistry registry, InferenceReplicas inference, ControllerOptions options,
    PartitionedRateLimiter<string> callers, RateLimitMetrics metrics, ILogger<A2FControllerService> logger) : Nvidia.Ace.Services.A2FController.V1.A2FControllerService.A2FControllerServiceBase
{
    private readonly Metadata? _callback = options.AnimationCallbackAddress is { } address
        ? new Metadata { { A2FApi.AnimationCallbackHeader, address } }
        : null;

    /// <inheritdoc />
    public override async Task ProcessAudioStream(IAsyncStreamReader<Client.AudioStream> requestStream,
        IServerStreamWriter<Client.AnimationDataStream> responseStream, ServerCallContext context)
    {
        if (registry.Count >= options.MaxConcurrentStreams)
        {
            metrics.Rejected("a2f-streams");
            throw new RpcException(new Status(StatusCode.ResourceExhausted, $"The controller serves at most {options.MaxConcurrentStreams} streams at once."));
        }
        var caller = context.GetHttpContext().Connection.RemoteIpAddress?.ToString() ?? context.Peer;
        using var place = callers.AttemptAcquire(caller);
        if (!place.IsAcquired)
        {
            metrics.Rejected("a2f-streams-per-caller");
            throw new RpcException(new Status(StatusCode.ResourceExhausted,
                $"{caller} already has {options.MaxStreamsPerCaller} streams open, the most one caller may (A2F:MaxStreamsPerCaller); end one first."));
        }
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        idle.CancelAfter(options.IdleTimeout);
        if (!await NextAsync(requestStream, idle, context) || requestStream.Current.StreamPartCase != Client.AudioStream.StreamPartOneofCase.AudioStreamHeader)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "The first message must be audio_stream_header."));
        }
        var header = requestStream.Current.AudioStreamHeader;
        if (AudioRules.Check(header.AudioHeader) is { } error)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, error));
        }
        var ids = new Nvidia.Ace.AnimationId.V1.AnimationIds { RequestId = Guid.NewGuid().ToString(), StreamId = Guid.NewGuid().ToString(), TargetObjectId = "" };
        var animation = registry.Open(ids.StreamId);
        try
        {
            using var call = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
            var connection = inference.Next();
            using var push = connection.Client.PushAudioStream(_callback, cancellationToken: call.Token);
            await AcceptedAsync(push, connection, call);
            var relay = RelayAsync(animation, responseStream, header, call.Token);
            var upload = UploadAsync(requestStream, push, header, ids, idle, context);
            // Whichever fails first ends the call: inference refusing the audio, the client misbehaving, or the relay.
            // The other is stopped and awaited before the handler returns: a read of the client's stream left running
            // past the handler's end is a read on a request Kestrel has already finished.
            var first = await Task.WhenAny(upload, relay);
            if (first.IsFaulted)
            {
                await call.CancelAsync();
                await idle.CancelAsync();
                await Task.WhenAll(upload, relay).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                await first;
            }
            await upload;
            var status = await push.ResponseAsync;
            await relay;
            Log.Completed(logger, ids.StreamId, status.Message);
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.Internal && !context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"Inference is unavailable: {ex.Status.Detail}"));
        }
        finally
        {
            registry.Close(ids.StreamId);
        }
    }

    /// <summary>Waits for inference to accept the stream (it answers with headers at once), or gives up as UNAVAILABLE.</summary>
    private static async Task AcceptedAsync(AsyncClientStreamingCall<Inference.AudioStream, StatusMessage> push, InferenceReplicas.Connection connection,
        CancellationTokenSource call)
    {
        var timeout = connection.AcceptTimeout;
        try
        {
            await push.ResponseHeadersAsync.WaitAsync(timeout, call.Token);
            connection.Accepted();
        }
        catch (TimeoutException)
        {
            await call.CancelAsync();
            throw new RpcException(new Status(StatusCode.Unavailable, $"it did not accept the stream within {timeout.TotalSeconds:0.#} s."));
        }
    }

    private async Task UploadAsync(IAsyncStreamReader<Client.AudioStream> requests, AsyncClientStreamingCall<Inference.AudioStream, StatusMessage> push,
        Client.AudioStreamHeader header, Nvidia.Ace.AnimationId.V1.AnimationIds ids, CancellationTokenSource idle, ServerCallContext context)
    {
        await PushAsync(push, new Inference.AudioStream
        {
            AudioStreamHeader = new Inference.AudioStreamHeader
            {
                AnimationIds = ids,
                AudioHeader = header.AudioHeader,
                FaceParams = header.FaceParams,
                EmotionPostProcessingParams = header.EmotionPostProcessingParams,
                BlendshapeParams = header.BlendshapeParams,
                EmotionParams = header.EmotionParams,
            },
        });
        long samples = 0;
        while (await NextAsync(requests, idle, context))
        {
            switch (requests.Current.StreamPartCase)
            {
                case Client.AudioStream.StreamPartOneofCase.AudioWithEmotion:
                    var chunk = requests.Current.AudioWithEmotion;
                    if (AudioRules.CheckBuffer(chunk.AudioBuffer.Length, samples, header.AudioHeader.SamplesPerSecond) is { } error)
                    {
                        throw new RpcException(new Status(StatusCode.InvalidArgument, error));
                    }
                    samples += chunk.AudioBuffer.Length / 2;
                    await PushAsync(push, new Inference.AudioStream { AudioWithEmotion = chunk });
                    break;
                case Client.AudioStream.StreamPartOneofCase.EndOfAudio:
                    await push.RequestStream.CompleteAsync();
                    return;
                default:
                    throw new RpcException(new Status(StatusCode.InvalidArgument, "Only one audio_stream_header is allowed, at the start."));
            }
        }
        // The client half-closed without end_of_audio: that ends the audio too.
        await push.RequestStream.CompleteAsync();
    }

    /// <summary>
    /// A write fails as soon as inference has ended the call, sometimes as CANCELLED before inference's own status is
    /// read: that status (INVALID_ARGUMENT for a blend shape it does not know, say) is what the client must see.
    /// </summary>
    private static async Task PushAsync(AsyncClientStreamingCall<Inference.AudioStream, StatusMessage> push, Inference.AudioStream message)
    {
        try
        {
            await push.RequestStream.WriteAsync(message);
        }
        catch (RpcException)
        {
            await push.ResponseAsync;
            throw;
        }
    }

    private static async Task RelayAsync(System.Threading.Channels.ChannelReader<AnimationData.AnimationDataStream> animation,
        IServerStreamWriter<Client.AnimationDataStream> responses, Client.AudioStreamHeader header, CancellationToken cancellationToken)
    {
        await foreach (var message in animation.ReadAllAsync(cancellationToken))
        {
            switch (message.StreamPartCase)
            {
                case AnimationData.AnimationDataStream.StreamPartOneofCase.AnimationDataStreamHeader:
                    var inbound = message.AnimationDataStreamHeader;
                    await responses.WriteAsync(new Client.AnimationDataStream
                    {
                        AnimationDataStreamHeader = new Client.AnimationDataStreamHeader
                        {
                            AudioHeader = inbound.AudioHeader ?? header.AudioHeader,
                            SkelAnimationHeader = inbound.SkelAnimationHeader,
                            StartTimeCodeSinceEpoch = inbound.StartTimeCodeSinceEpoch,
                        },
                    }, cancellationToken);
                    break;
                case AnimationData.AnimationDataStream.StreamPartOneofCase.AnimationData:
                    await responses.WriteAsync(new Client.AnimationDataStream { AnimationData = message.AnimationData }, cancellationToken);
                    break;
                case AnimationData.AnimationDataStream.StreamPartOneofCase.Status:
                    await responses.WriteAsync(new Client.AnimationDataStream
                    {
                        Event = new Client.Event { EventType = Client.EventType.EndOfA2FAudioProcessing },
                    }, cancellationToken);
                    await responses.WriteAsync(new Client.AnimationDataStream
                    {
                        Status = new StatusMessage { Code = StatusMessage.Types.Code.Success, Message = message.Status.Message },
                    }, cancellationToken);
                    return;
            }
        }
        throw new RpcException(new Status(StatusCode.Unavailable, "Inference stopped sending animation before the end of the clip."));
    }

    private async Task<bool> NextAsync<T>(IAsyncStreamReader<T> requests, CancellationTokenSource idle, ServerCallContext context)
    {
        try
        {
            var more = await requests.MoveNext(idle.Token);
            idle.CancelAfter(options.IdleTimeout); // every message restarts the idle clock
            return more;
        }
        catch (OperationCanceledException) when (idle.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, $"No message from the client for {options.IdleTimeout.TotalSeconds:0} s."));
        }
    }
}

internal static partial class Log
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Stream {StreamId} completed: {Message}")]
    public static partial void Completed(ILogger logger, string streamId, string message);
}
