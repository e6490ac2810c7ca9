using Avatar.A2F.Contracts;
using Google.Protobuf;
using Nvidia.Ace.A2F.V1;
using Nvidia.Ace.AnimationData.V1;
using Nvidia.Ace.Audio.V1;
using Controller = Nvidia.Ace.Controller.V1;

namespace Avatar.Tests.Contracts;

public sealed class A2FContractsTests
{
    [Fact]
    public void TheHeaderFieldsHaveNvidiasNumbers()
    {
        var fields = AudioStreamHeader.Descriptor.Fields.InFieldNumberOrder().Select(f => (f.FieldNumber, f.Name));

        Assert.Equal(
            [(1, "animation_ids"), (2, "audio_header"), (3, "face_params"), (4, "emotion_post_processing_params"), (5, "blendshape_params"), (6, "emotion_params")],
            fields);
        Assert.Equal("nvidia_ace.a2f.v1.AudioStreamHeader", AudioStreamHeader.Descriptor.FullName);
    }

    [Fact]
    public void TheControllerStreamsHaveTheirOneofsInOrder()
    {
        Assert.Equal(["audio_stream_header", "audio_with_emotion", "end_of_audio"],
            Controller.AudioStream.Descriptor.Oneofs.Single().Fields.OrderBy(f => f.FieldNumber).Select(f => f.Name));
        Assert.Equal(["animation_data_stream_header", "animation_data", "event", "status"],
            Controller.AnimationDataStream.Descriptor.Oneofs.Single().Fields.OrderBy(f => f.FieldNumber).Select(f => f.Name));
        Assert.Equal(3, Controller.AnimationDataStreamHeader.Descriptor.FindFieldByName("start_time_code_since_epoch").FieldNumber);
        Assert.True(BlendShapeParameters.Descriptor.FindFieldByName("enable_clamping_bs_weight").HasPresence);
    }

    [Fact]
    public void TheServicesHaveNvidiasFullNames()
    {
        var controller = Nvidia.Ace.Services.A2FController.V1.NvidiaAceServicesA2FControllerV1Reflection.Descriptor.Services.Single();
        var method = controller.Methods.Single();

        Assert.Equal("/nvidia_ace.services.a2f_controller.v1.A2FControllerService/ProcessAudioStream", $"/{controller.FullName}/{method.Name}");
        Assert.True(method.IsClientStreaming && method.IsServerStreaming);
    }

    [Fact]
    public void ThereAreSixtyEightBlendShapesFromEyeBlinkLeftToTongueNarrow()
    {
        Assert.Equal(68, A2FApi.BlendShapeNames.Count);
        Assert.Equal(68, A2FApi.BlendShapeNames.Distinct().Count());
        Assert.Equal("JawOpen", A2FApi.BlendShapeNames[17]);
        Assert.Equal("TongueOut", A2FApi.BlendShapeNames[51]);
        Assert.Equal("TongueNarrow", A2FApi.BlendShapeNames[67]);
    }

    [Fact]
    public void AHeaderEncodesToTheBytesTheWireFormatPrescribes()
    {
        var header = new AudioHeader { ChannelCount = 1, SamplesPerSecond = 16000, BitsPerSample = 16 };

        // field 2 varint 1; field 3 varint 16000 (0x80 0x7D); field 4 varint 16. audio_format PCM (0) is the default: not sent.
        Assert.Equal(new byte[] { 0x10, 0x01, 0x18, 0x80, 0x7D, 0x20, 0x10 }, header.ToByteArray());
        Assert.Equal(header, AudioHeader.Parser.ParseFrom([0x10, 0x01, 0x18, 0x80, 0x7D, 0x20, 0x10]));
    }

    [Fact]
    public void AnAnimationFrameRoundTrips()
    {
        var frame = new AnimationDataStream
        {
            AnimationData = new AnimationData
            {
                SkelAnimation = new SkelAnimation { BlendShapeWeights = { new FloatArrayWithTimeCode { TimeCode = 1 / 30.0, Values = { Enumerable.Range(0, 68).Select(i => i / 68f) } } } },
                Audio = new AudioWithTimeCode { TimeCode = 1 / 30.0, AudioBuffer = ByteString.CopyFrom(new byte[1066]) },
            },
        };

        var parsed = AnimationDataStream.Parser.ParseFrom(frame.ToByteArray());

        Assert.Equal(frame, parsed);
        Assert.Equal(AnimationDataStream.StreamPartOneofCase.AnimationData, parsed.StreamPartCase);
    }
}
