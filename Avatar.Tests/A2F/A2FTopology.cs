using System.Globalization;
using System.Text.Json.Nodes;
using Avatar.Espeak;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Avatar.Hosting;
using Avatar.Tests.Hosting;
using Avatar.Tests.Grpc;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Nvidia.Ace.Audio.V1;
using Nvidia.Ace.Services.A2FController.V1;
using Client = Nvidia.Ace.Controller.V1;

namespace Avatar.Tests.A2F;

/// <summary>The AppHost's A2F pair (controller, and inference with two replicas), started once per test class.</summary>
public class A2FTopology : IAsyncLifetime
{
    public DistributedApplication App { get; private set; } = null!;

    private GrpcChannel _channel = null!;

    public A2FControllerService.A2FControllerServiceClient Controller { get; private set; } = null!;

    public int ControllerPort => App.GetEndpoint("a2f-controller", "grpc").Port;

    public int InferencePort => App.GetEndpoint("a2f-inference", "grpc").Port;

    public async Task InitializeAsync()
    {
        var builder = await AvatarTesting.CreateBuilderAsync();
        builder.KeepOnly("a2f-controller");
        builder.Project("a2f-inference").WithReplicas(2);
        Configure(builder);
        // Every inference replica too: the controller opens its connections at its first streams and keeps them, so a
        // replica still starting then would get none of a test's streams.
        App = await builder.StartAsync(TimeSpan.FromSeconds(120), "a2f-inference", "a2f-controller");
        _channel = GrpcChannel.ForAddress(App.GetEndpoint("a2f-controller", "grpc"));
        Controller = new A2FControllerService.A2FControllerServiceClient(_channel);
    }

    /// <summary>A chance for a test class to change the topology before it starts.</summary>
    protected virtual void Configure(IDistributedApplicationTestingBuilder builder)
    {
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
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

    /// <summary>Runs a grpc-js script of Grpc/peer against <paramref name="port"/> with a clip, and reads the JSON line it prints.</summary>
    public static async Task<JsonObject> RunGrpcJsAsync(string script, int port, byte[] pcm, params string[] args)
    {
        var file = Path.Combine(Path.GetTempPath(), $"speech-{Guid.NewGuid():N}.pcm");
        await File.WriteAllBytesAsync(file, pcm);
        try
        {
            using var peer = NodePeer.Start(script, [port.ToString(CultureInfo.InvariantCulture), file, .. args]);
            var output = await peer.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(60));
            return string.IsNullOrWhiteSpace(output)
                ? throw new InvalidOperationException($"{script} printed nothing: {await peer.StandardError.ReadToEndAsync()}")
                : JsonNode.Parse(output)!.AsObject();
        }
        finally
        {
            File.Delete(file);
        }
    }

    public static Client.AudioStream Header(uint rate = 22050, uint channels = 1, uint bits = 16) => new()
    {
        AudioStreamHeader = new Client.AudioStreamHeader
        {
            AudioHeader = new AudioHeader { AudioFormat = AudioHeader.Types.AudioFormat.Pcm, ChannelCount = channels, SamplesPerSecond = rate, BitsPerSample = bits },
        },
    };

    public static Client.AudioStream Audio(byte[] pcm) => new() { AudioWithEmotion = new() { AudioBuffer = ByteString.CopyFrom(pcm) } };

    /// <summary>Fails with the call's status when it has one, so that a failure says which error came back.</summary>
    public static void Succeeded(RpcException? error) =>
        Assert.True(error is null, $"The call failed: {error?.StatusCode} {error?.Status.Detail}");

    /// <summary>Sends the messages, then reads everything back; the gRPC error, if any, is returned.</summary>
    public async Task<(List<Client.AnimationDataStream> Received, RpcException? Error)> CallAsync(params Client.AudioStream[] messages)
    {
        using var call = Controller.ProcessAudioStream(deadline: DateTime.UtcNow.AddSeconds(30));
        var received = new List<Client.AnimationDataStream>();
        RpcException? sendError = null;
        try
        {
            foreach (var message in messages)
            {
                await call.RequestStream.WriteAsync(message);
            }
            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException ex)
        {
            // The controller may end the call while messages are still going out (CANCELLED for the write); the
            // response stream ends with the status it sent, as a gRPC client reads it.
            sendError = ex;
        }
        try
        {
            while (await call.ResponseStream.MoveNext())
            {
                received.Add(call.ResponseStream.Current);
            }
            return (received, sendError);
        }
        catch (RpcException ex)
        {
            return (received, ex);
        }
    }
}
