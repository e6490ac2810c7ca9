using Avatar.Grpc;
using Google.Protobuf;
using AnimationData = Nvidia.Ace.AnimationData.V1;
using Controller = Nvidia.Ace.Controller.V1;
using Inference = Nvidia.Ace.A2F.V1;
using StatusMessage = Nvidia.Ace.Status.V1.Status;

namespace Avatar.A2F.Contracts;

/// <summary>The A2F gRPC methods, for lib/Avatar.Grpc's server registration and client calls.</summary>
public static class A2FMethods
{
    /// <summary>Client to controller: audio in, animation out.</summary>
    public static readonly Method<Controller.AudioStream, Controller.AnimationDataStream> ProcessAudioStream =
        new(MethodType.DuplexStreaming, "nvidia_ace.services.a2f_controller.v1.A2FControllerService", "ProcessAudioStream",
            Protobuf(Controller.AudioStream.Parser), Protobuf(Controller.AnimationDataStream.Parser));

    /// <summary>Controller to inference: the audio of one stream.</summary>
    public static readonly Method<Inference.AudioStream, StatusMessage> PushAudioStream =
        new(MethodType.ClientStreaming, "nvidia_ace.services.a2f.v1.A2FService", "PushAudioStream",
            Protobuf(Inference.AudioStream.Parser), Protobuf(StatusMessage.Parser));

    /// <summary>Inference to controller: the animation of one stream.</summary>
    public static readonly Method<AnimationData.AnimationDataStream, StatusMessage> PushAnimationDataStream =
        new(MethodType.ClientStreaming, "nvidia_ace.services.animation_data.v1.AnimationDataService", "PushAnimationDataStream",
            Protobuf(AnimationData.AnimationDataStream.Parser), Protobuf(StatusMessage.Parser));

    private static Marshaller<T> Protobuf<T>(MessageParser<T> parser) where T : IMessage<T> => Marshallers.Protobuf(parser);
}
