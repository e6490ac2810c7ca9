using Avatar.A2F.Contracts;
using Avatar.Grpc;
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
public sealed class A2FControllerService(StreamRegistry registry, IReadOnlyList<GrpcChannel> inference, ControllerOptions options,
    ILogger<A2FControllerService> logger)
{
    private readonly Metadata? _callback = options.AnimationCallbackAddress is { } address
        ? new Metadata { { A2FApi.AnimationCallbackHeader, address } }
        : null;

    private int _next;

    /// <summary>The client-facing service.</summary>
    public ServiceDefinition ClientService() => new ServiceDefinitionBuilder().AddDuplexStreaming(A2FMethods.ProcessAudioStream, ProcessAudioStreamAsync).Build();

    /// <summary>The animation port's service, which inference pushes to.</summary>
    public ServiceDefinition AnimationService() => new ServiceDefinitionBuilder().AddClientStreaming(A2FMethods.PushAnimationDataStream, ReceiveAnimationAsync).Build();

    private async Task ProcessAudioStreamAsync(Grpc.IAsyncStreamReader<Client.AudioStream> requests,
        IAsyncStreamWriter<Client.AnimationDataStream> responses, ServerCallContext context)
    {
        if (registry.Count >= options.MaxConcurrentStreams)
        {
            throw new RpcException(StatusCode.ResourceExhausted, $"The controller serves at most {options.MaxConcurrentStreams} streams at once.");
        }
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        idle.CancelAfter(options.IdleTimeout);
        if (!await Next(requests, idle, context) || requests.Current.StreamPartCase != Client.AudioStream.StreamPartOneofCase.AudioStreamHeader)
        {
            throw new RpcException(StatusCode.InvalidArgument, "The first message must be audio_stream_header.");
        }
        var header = requests.Current.AudioStreamHeader;
        if (AudioRules.Check(header.AudioHeader) is { } error)
        {
            throw new RpcException(StatusCode.InvalidArgument, error);
        }
        var ids = new Nvidia.Ace.AnimationId.V1.AnimationIds { RequestId = Guid.NewGuid().ToString(), StreamId = Guid.NewGuid().ToString(), TargetObjectId = "" };
        var animation = registry.Open(ids.StreamId);
        try
        {
            using var call = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
            await using var push = Inference().ClientStreaming(A2FMethods.PushAudioStream, new CallOptions(_callback, CancellationToken: call.Token));
            var relay = RelayAsync(animation, responses, header, call.Token);
            var upload = UploadAsync(requests, push, header, ids, idle, context);
            // Whichever fails first ends the call: inference refusing the audio, the client misbehaving, or the relay.
            var first = await Task.WhenAny(upload, relay);
            if (first.IsFaulted)
            {
                await call.CancelAsync();
                await first;
            }
            await upload;
            var status = await push.ResponseAsync;
            await relay;
            Log.Completed(logger, ids.StreamId, status.Message);
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.Internal && !context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(StatusCode.Unavailable, $"Inference is unavailable: {ex.Status.Detail}");
        }
        finally
        {
            registry.Close(ids.StreamId);
        }
    }

    private async Task UploadAsync(Grpc.IAsyncStreamReader<Client.AudioStream> requests, ClientStreamingCall<Inference.AudioStream, StatusMessage> push,
        Client.AudioStreamHeader header, Nvidia.Ace.AnimationId.V1.AnimationIds ids, CancellationTokenSource idle, ServerCallContext context)
    {
        await push.RequestStream.WriteAsync(new Inference.AudioStream
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
        while (await Next(requests, idle, context))
        {
            switch (requests.Current.StreamPartCase)
            {
                case Client.AudioStream.StreamPartOneofCase.AudioWithEmotion:
                    var chunk = requests.Current.AudioWithEmotion;
                    if (AudioRules.CheckBuffer(chunk.AudioBuffer.Length, samples, header.AudioHeader.SamplesPerSecond) is { } error)
                    {
                        throw new RpcException(StatusCode.InvalidArgument, error);
                    }
                    samples += chunk.AudioBuffer.Length / 2;
                    await push.RequestStream.WriteAsync(new Inference.AudioStream { AudioWithEmotion = chunk });
                    break;
                case Client.AudioStream.StreamPartOneofCase.EndOfAudio:
                    await push.RequestStream.CompleteAsync();
                    return;
                default:
                    throw new RpcException(StatusCode.InvalidArgument, "Only one audio_stream_header is allowed, at the start.");
            }
        }
        // The client half-closed without end_of_audio: that ends the audio too.
        await push.RequestStream.CompleteAsync();
    }

    private static async Task RelayAsync(System.Threading.Channels.ChannelReader<AnimationData.AnimationDataStream> animation,
        IAsyncStreamWriter<Client.AnimationDataStream> responses, Client.AudioStreamHeader header, CancellationToken cancellationToken)
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
        throw new RpcException(StatusCode.Unavailable, "Inference stopped sending animation before the end of the clip.");
    }

    private async Task<StatusMessage> ReceiveAnimationAsync(Grpc.IAsyncStreamReader<AnimationData.AnimationDataStream> requests, ServerCallContext context)
    {
        if (!await requests.MoveNext(context.CancellationToken) || requests.Current.StreamPartCase != AnimationData.AnimationDataStream.StreamPartOneofCase.AnimationDataStreamHeader)
        {
            throw new RpcException(StatusCode.InvalidArgument, "The first message must be animation_data_stream_header.");
        }
        var streamId = requests.Current.AnimationDataStreamHeader.AnimationIds?.StreamId ?? "";
        var client = registry.Find(streamId) ?? throw new RpcException(StatusCode.NotFound, $"No client waits for stream '{streamId}'.");
        await client.WriteAsync(requests.Current, context.CancellationToken);
        while (await requests.MoveNext(context.CancellationToken))
        {
            await client.WriteAsync(requests.Current, context.CancellationToken);
        }
        return new StatusMessage { Code = StatusMessage.Types.Code.Success };
    }

    private GrpcChannel Inference() =>
        inference.Count > 0 ? inference[(int)((uint)Interlocked.Increment(ref _next) % inference.Count)]
        : throw new RpcException(StatusCode.Unavailable, "No inference service is configured.");

    private async Task<bool> Next<T>(Grpc.IAsyncStreamReader<T> requests, CancellationTokenSource idle, ServerCallContext context)
    {
        try
        {
            var more = await requests.MoveNext(idle.Token);
            idle.CancelAfter(options.IdleTimeout); // every message restarts the idle clock
            return more;
        }
        catch (OperationCanceledException) when (idle.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(StatusCode.DeadlineExceeded, $"No message from the client for {options.IdleTimeout.TotalSeconds:0} s.");
        }
    }
}

internal static partial class Log
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Stream {StreamId} completed: {Message}")]
    public static partial void Completed(ILogger logger, string streamId, string message);
}
