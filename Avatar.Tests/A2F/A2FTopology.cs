using Avatar.A2F.Contracts;
using Avatar.Espeak;
using Avatar.Grpc;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Avatar.Hosting;
using Avatar.Tests.Hosting;
using Avatar.Tests.Grpc;
using Google.Protobuf;
using Client = Nvidia.Ace.Controller.V1;
using Nvidia.Ace.Audio.V1;

namespace Avatar.Tests.A2F;

/// <summary>The AppHost's A2F pair (controller, and inference with two replicas), started once per test class.</summary>
public class A2FTopology : IAsyncLifetime
{
    public DistributedApplication App { get; private set; } = null!;

    public GrpcChannel Controller { get; private set; } = null!;

    public int ControllerPort => App.GetEndpoint("a2f-controller", "grpc").Port;

    public async Task InitializeAsync()
    {
        var builder = await AvatarTesting.CreateBuilderAsync();
        builder.KeepOnly("a2f-controller");
        builder.Project("a2f-inference").WithReplicas(2);
        Configure(builder);
        App = await builder.StartAsync(TimeSpan.FromSeconds(120), "a2f-controller");
        Controller = GrpcChannel.ForAddress(App.GetEndpoint("a2f-controller", "grpc"));
    }

    /// <summary>A chance for a test class to change the topology before it starts.</summary>
    protected virtual void Configure(IDistributedApplicationTestingBuilder builder)
    {
    }

    public async Task DisposeAsync()
    {
        Controller.Dispose();
        await App.DisposeAsync();
    }

    /// <summary>espeak-ng speech as 16-bit mono PCM at 22050 Hz.</summary>
    public static byte[] Speech(string text)
    {
        var clip = EspeakSynthesizer.Synthesize(text, new SpeechOptions("en-us"));
        var bytes = new byte[clip.Samples.Length * 2];
        Buffer.BlockCopy(clip.Samples, 0, bytes, 0, bytes.Length);
        return bytes;
    }

    public static Client.AudioStream Header(uint rate = 22050, uint channels = 1, uint bits = 16) => new()
    {
        AudioStreamHeader = new Client.AudioStreamHeader
        {
            AudioHeader = new AudioHeader { AudioFormat = AudioHeader.Types.AudioFormat.Pcm, ChannelCount = channels, SamplesPerSecond = rate, BitsPerSample = bits },
        },
    };

    public static Client.AudioStream Audio(byte[] pcm) => new() { AudioWithEmotion = new() { AudioBuffer = ByteString.CopyFrom(pcm) } };

    /// <summary>Sends the messages, then reads everything back; the gRPC error, if any, is returned.</summary>
    public async Task<(List<Client.AnimationDataStream> Received, RpcException? Error)> CallAsync(params Client.AudioStream[] messages)
    {
        await using var call = Controller.DuplexStreaming(A2FMethods.ProcessAudioStream, new CallOptions(Deadline: DateTime.UtcNow.AddSeconds(30)));
        var received = new List<Client.AnimationDataStream>();
        try
        {
            foreach (var message in messages)
            {
                await call.RequestStream.WriteAsync(message);
            }
            await call.RequestStream.CompleteAsync();
            while (await call.ResponseStream.MoveNext())
            {
                received.Add(call.ResponseStream.Current);
            }
            return (received, null);
        }
        catch (RpcException ex)
        {
            return (received, ex);
        }
    }
}
