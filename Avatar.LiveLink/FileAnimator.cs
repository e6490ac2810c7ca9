using Avatar.A2F.Contracts;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Nvidia.Ace.Audio.V1;
using Nvidia.Ace.Services.A2FController.V1;
using Controller = Nvidia.Ace.Controller.V1;

namespace Avatar.LiveLink;

/// <summary>
/// File mode: a WAV file through the A2F controller (NVIDIA's ProcessAudioStream), its frames played on the file's
/// audio clock from the first frame back.
/// </summary>
public static class FileAnimator
{
    // 100 ms pieces, sent as fast as the controller takes them: frames come back far ahead of real time.
    private const double ChunkSeconds = 0.1;

    public static async Task RunAsync(LiveLinkOptions options, FacePlayer player, TextWriter log, CancellationToken cancellationToken)
    {
        var (pcm, rate) = WavFile.Read(options.File!);
        if ((AudioRules.Check(new AudioHeader { ChannelCount = 1, BitsPerSample = 16, SamplesPerSecond = (uint)rate })
            ?? AudioRules.CheckBuffer(0, pcm.Length / 2, (uint)rate)) is { } why)
        {
            throw new ToolException($"{options.File} is not audio A2F takes: {why}");
        }
        var turn = player.BeginTurn(TimeSpan.MaxValue);
        turn.AddAudio(0, pcm, rate);
        using var channel = GrpcChannel.ForAddress(options.A2F);
        var controller = new A2FControllerService.A2FControllerServiceClient(channel);
        try
        {
            using var call = controller.ProcessAudioStream(cancellationToken: cancellationToken);
            var sending = SendAsync(call.RequestStream, pcm, rate, cancellationToken);
            await foreach (var message in call.ResponseStream.ReadAllAsync(cancellationToken))
            {
                if (message.AnimationDataStreamHeader?.SkelAnimationHeader is { } header)
                {
                    turn.SetNames(ArkitMapping.FromNames(header.BlendShapes));
                }
                foreach (var frame in message.AnimationData?.SkelAnimation?.BlendShapeWeights ?? [])
                {
                    turn.AddFrame(frame.TimeCode, frame.Values.ToArray());
                }
                if (message.Status is { Code: not Nvidia.Ace.Status.V1.Status.Types.Code.Success } status)
                {
                    throw new ToolException($"The A2F controller at {options.A2F} reported {status.Code}: {status.Message}");
                }
            }
            await sending;
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ToolException(e.StatusCode == StatusCode.Unavailable
                ? $"Cannot reach the A2F controller at {options.A2F}: {e.Status.Detail}"
                : $"The A2F controller at {options.A2F} refused {options.File}: {e.StatusCode}: {e.Status.Detail}");
        }
        turn.End();
        await turn.Finished.WaitAsync(cancellationToken);
        log.WriteLine($"Played {pcm.Length / 2.0 / rate:0.00} s of audio with {turn.FramesReceived} frames.");
    }

    private static async Task SendAsync(IClientStreamWriter<Controller.AudioStream> requests, byte[] pcm, int rate, CancellationToken cancellationToken)
    {
        await requests.WriteAsync(new Controller.AudioStream
        {
            AudioStreamHeader = new Controller.AudioStreamHeader
            {
                AudioHeader = new AudioHeader { AudioFormat = AudioHeader.Types.AudioFormat.Pcm, ChannelCount = 1, SamplesPerSecond = (uint)rate, BitsPerSample = 16 },
            },
        }, cancellationToken);
        var chunk = 2 * (int)(rate * ChunkSeconds);
        for (var at = 0; at < pcm.Length; at += chunk)
        {
            var piece = ByteString.CopyFrom(pcm, at, Math.Min(chunk, pcm.Length - at));
            await requests.WriteAsync(new Controller.AudioStream { AudioWithEmotion = new() { AudioBuffer = piece } }, cancellationToken);
        }
        await requests.WriteAsync(new Controller.AudioStream { EndOfAudio = new() }, cancellationToken);
        await requests.CompleteAsync();
    }
}
