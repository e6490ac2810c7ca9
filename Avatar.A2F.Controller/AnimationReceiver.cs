using Grpc.Core;
using Nvidia.Ace.Services.AnimationData.V1;
using AnimationData = Nvidia.Ace.AnimationData.V1;
using StatusMessage = Nvidia.Ace.Status.V1.Status;

namespace Avatar.A2F.Controller;

/// <summary>
/// nvidia_ace.services.animation_data.v1.AnimationDataService/PushAnimationDataStream on the animation port: inference
/// pushes a stream's animation here, and it goes to the client call waiting under that stream id.
/// </summary>
public sealed class AnimationReceiver(StreamRegistry registry) : AnimationDataService.AnimationDataServiceBase
{
    /// <inheritdoc />
    public override async Task<StatusMessage> PushAnimationDataStream(IAsyncStreamReader<AnimationData.AnimationDataStream> requestStream, ServerCallContext context)
    {
        if (!await requestStream.MoveNext(context.CancellationToken)
            || requestStream.Current.StreamPartCase != AnimationData.AnimationDataStream.StreamPartOneofCase.AnimationDataStreamHeader)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "The first message must be animation_data_stream_header."));
        }
        var streamId = requestStream.Current.AnimationDataStreamHeader.AnimationIds?.StreamId ?? "";
        var client = registry.Find(streamId) ?? throw new RpcException(new Status(StatusCode.NotFound, $"No client waits for stream '{streamId}'."));
        await client.WriteAsync(requestStream.Current, context.CancellationToken);
        await foreach (var message in requestStream.ReadAllAsync(context.CancellationToken))
        {
            await client.WriteAsync(message, context.CancellationToken);
        }
        return new StatusMessage { Code = StatusMessage.Types.Code.Success };
    }
}
