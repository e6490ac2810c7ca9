using System.Diagnostics;
using System.Text.Json.Nodes;
using Avatar.Tests.Grpc;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Avatar.Tests.Hosting;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Reflection.V1Alpha;
using Nvidia.Ace.Services.A2FController.V1;
using Client = Nvidia.Ace.Controller.V1;

namespace Avatar.Tests.A2F;

public sealed class A2FTests(A2FTopology topology) : IClassFixture<A2FTopology>
{
    [Fact]
    public async Task AnNvidiaStyleGrpcJsClientGetsTheWholeAnimationOfEspeakSpeech()
    {
        var pcm = A2FTopology.Speech("Papa bought my mom a map of the bay.");

        var result = await A2FTopology.RunGrpcJsAsync("a2f-client.js", topology.ControllerPort, pcm, "22050", "35");

        Assert.Null(result["error"]);
        Assert.Equal(68, result["names"]!.GetValue<int>());
        Assert.Equal((int)Math.Ceiling(pcm.Length / 2 / 22050.0 * 30), result["frames"]!.GetValue<int>());
        Assert.True(result["increasing"]!.GetValue<bool>());
        Assert.Equal(pcm.Length, result["audioBytes"]!.GetValue<int>());
        Assert.Equal(0, result["event"]!.GetValue<int>()); // END_OF_A2F_AUDIO_PROCESSING
        Assert.Equal(0, result["status"]!["code"]!.GetValue<int>()); // SUCCESS
        Assert.True(result["jawOpenMax"]!.GetValue<double>() > 0.3, "the jaw should open on speech");
    }

    [Fact]
    public async Task InferenceAnimatesForAGrpcJsControllerWithNvidiasProtosAndPushesToTheAddressItNames()
    {
        var pcm = A2FTopology.Speech("Papa bought my mom a map of the bay.");

        var result = await A2FTopology.RunGrpcJsAsync("a2f-push.js", topology.InferencePort, pcm, "22050");

        Assert.Null(result["error"]);
        Assert.Equal(0, result["pushed"]!["status"]?["code"]?.GetValue<int>()); // SUCCESS, from A2FService
        Assert.Equal(3, result["stereo"]!["error"]?["code"]?.GetValue<int>()); // INVALID_ARGUMENT
        Assert.Contains("channel_count", result["stereo"]!["error"]!["details"]!.GetValue<string>());
        var animation = result["animation"]!;
        Assert.Equal(1, animation["streams"]!.GetValue<int>());
        Assert.Equal("grpc-js-stream", animation["streamId"]!.GetValue<string>());
        Assert.Equal(68, animation["names"]!.GetValue<int>());
        Assert.Equal((int)Math.Ceiling(pcm.Length / 2 / 22050.0 * 30), animation["frames"]!.GetValue<int>());
        Assert.True(animation["increasing"]!.GetValue<bool>());
        Assert.Equal(pcm.Length, animation["audioBytes"]!.GetValue<int>());
        Assert.Equal("animation_data_stream_header", animation["first"]!.GetValue<string>());
        Assert.Equal("status", animation["last"]!.GetValue<string>());
        Assert.Equal(0, animation["status"]!["code"]!.GetValue<int>()); // SUCCESS
    }

    [Fact]
    public async Task TheMessagesComeInOrderHeaderFramesEventStatus()
    {
        var (received, error) = await topology.CallAsync(A2FTopology.Header(), A2FTopology.Audio(A2FTopology.Speech("Hello.")), new Client.AudioStream { EndOfAudio = new() });

        A2FTopology.Succeeded(error);
        Assert.Equal(Client.AnimationDataStream.StreamPartOneofCase.AnimationDataStreamHeader, received[0].StreamPartCase);
        Assert.Equal(Client.AnimationDataStream.StreamPartOneofCase.Event, received[^2].StreamPartCase);
        Assert.Equal(Client.AnimationDataStream.StreamPartOneofCase.Status, received[^1].StreamPartCase);
        var times = received.Where(m => m.AnimationData?.SkelAnimation is not null).SelectMany(m => m.AnimationData.SkelAnimation.BlendShapeWeights).Select(w => w.TimeCode).ToList();
        Assert.Equal(Enumerable.Range(0, times.Count).Select(k => k / 30.0), times);
    }

    [Fact]
    public async Task EachChunkComesBackAsOneMessageWithItsAudioAndTheFramesItMadeReady()
    {
        var speech = A2FTopology.Speech("Hello there, how are you?");
        var chunks = speech.Chunk(22050 * 2 / 10).Select(A2FTopology.Audio).ToList(); // 100 ms chunks: 3 frames each

        var (received, error) = await topology.CallAsync([A2FTopology.Header(), .. chunks, new Client.AudioStream { EndOfAudio = new() }]);

        A2FTopology.Succeeded(error);
        var data = received.Where(m => m.AnimationData is not null).Select(m => m.AnimationData).ToList();
        // One per chunk, and one for the frames that only the end of the audio completes.
        Assert.InRange(data.Count, chunks.Count, chunks.Count + 1);
        Assert.All(data.Take(chunks.Count), d => Assert.NotNull(d.Audio));
        Assert.Contains(data, d => d.Audio is not null && d.SkelAnimation?.BlendShapeWeights.Count >= 2);
    }

    [Theory]
    [InlineData(22050u, 2u, 16u, "channel_count")]
    [InlineData(22050u, 1u, 8u, "bits_per_sample")]
    [InlineData(8000u, 1u, 16u, "samples_per_second")]
    public async Task UnsupportedAudioIsRefusedWithInvalidArgument(uint rate, uint channels, uint bits, string field)
    {
        var (_, error) = await topology.CallAsync(A2FTopology.Header(rate, channels, bits), A2FTopology.Audio(new byte[3200]));

        Assert.Equal(StatusCode.InvalidArgument, error?.StatusCode);
        Assert.Contains(field, error!.Status.Detail);
    }

    [Fact]
    public async Task AudioBeforeTheHeaderOrASecondHeaderIsRefused()
    {
        var (_, noHeader) = await topology.CallAsync(A2FTopology.Audio(new byte[3200]));
        var (_, twoHeaders) = await topology.CallAsync(A2FTopology.Header(), A2FTopology.Audio(new byte[3200]), A2FTopology.Header());

        Assert.Equal(StatusCode.InvalidArgument, noHeader?.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, twoHeaders?.StatusCode);
        Assert.Contains("header", twoHeaders!.Status.Detail);
    }

    [Fact]
    public async Task ABufferOverTenSecondsIsRefusedAndOtherStreamsGoOn()
    {
        var tooLong = topology.CallAsync(A2FTopology.Header(16000), A2FTopology.Audio(new byte[16000 * 2 * 11]));
        var fine = topology.CallAsync(A2FTopology.Header(), A2FTopology.Audio(A2FTopology.Speech("Fine.")), new Client.AudioStream { EndOfAudio = new() });

        Assert.Equal(StatusCode.InvalidArgument, (await tooLong).Error?.StatusCode);
        A2FTopology.Succeeded((await fine).Error);
    }

    [Fact]
    public async Task UnknownBlendShapesAndEmotionsAreRefusedByName()
    {
        var header = A2FTopology.Header();
        header.AudioStreamHeader.BlendshapeParams = new() { BsWeightMultipliers = { ["JawWide"] = 2 } };

        var (_, error) = await topology.CallAsync(header, A2FTopology.Audio(new byte[3200]), new Client.AudioStream { EndOfAudio = new() });

        Assert.Equal(StatusCode.InvalidArgument, error?.StatusCode);
        Assert.Contains("JawWide", error!.Status.Detail);
    }

    [Theory]
    [InlineData("a2f-controller", "grpc")]
    [InlineData("a2f-controller", "animation")]
    [InlineData("a2f-inference", "grpc")]
    public async Task EveryGrpcPortAnswersTheStandardHealthCheckWithServing(string resource, string endpoint)
    {
        using var channel = GrpcChannel.ForAddress(topology.App.GetEndpoint(resource, endpoint));

        var reply = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(10));

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, reply.Status);
    }

    [Theory]
    [InlineData("a2f-controller", "nvidia_ace.services.a2f_controller.v1.A2FControllerService,nvidia_ace.services.animation_data.v1.AnimationDataService")]
    [InlineData("a2f-inference", "nvidia_ace.services.a2f.v1.A2FService")]
    public async Task ReflectionListsNvidiasServicesBesideHealth(string resource, string services)
    {
        using var channel = GrpcChannel.ForAddress(topology.App.GetEndpoint(resource, "grpc"));
        using var call = new ServerReflection.ServerReflectionClient(channel).ServerReflectionInfo(deadline: DateTime.UtcNow.AddSeconds(10));

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext());

        var listed = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.All(services.Split(','), service => Assert.Contains(service, listed));
        Assert.Contains("grpc.health.v1.Health", listed);
    }

    [Fact]
    public async Task BothInferenceReplicasServeStreams()
    {
        await Task.WhenAll(Enumerable.Range(0, 6).Select(_ =>
            topology.CallAsync(A2FTopology.Header(), A2FTopology.Audio(A2FTopology.Speech("Hi.")), new Client.AudioStream { EndOfAudio = new() })));

        var replicas = await topology.App.ReplicasAsync("a2f-inference");
        Assert.Equal(2, replicas.Count);
        foreach (var replica in replicas)
        {
            Assert.True((await topology.App.LogsAsync(replica.ResourceId)).Any(l => l.Contains("animated", StringComparison.Ordinal)),
                $"{replica.ResourceId} served no stream");
        }
    }
}

/// <summary>
/// A topology of its own, alone after the parallel collections: clients leaving mid-stream keep inference busy, and on a
/// starved machine inference then misses the controller's 0.8 s to accept a stream (UNAVAILABLE, seen in a CI run beside
/// ten other topologies), which is the limit working, not what this test asks.
/// </summary>
[Collection(TimingSensitive.Name)]
public sealed class A2FLeavingClientTests(A2FTopology topology) : IClassFixture<A2FTopology>
{
    [Fact]
    public async Task ClientsLeavingMidStreamDisturbNoOtherStream()
    {
        // A client that goes away (a chat killed mid-turn) ends its stream while inference is still pushing that stream's
        // animation: the streams beside it, sharing the controller's and inference's connections, must not notice.
        var speech = A2FTopology.Speech("Every stream beside one that leaves goes on to its end, frame by frame.");
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var left = 0;
        var steady = Task.Run(async () =>
        {
            var outcomes = new List<(int Frames, RpcException? Error)>();
            for (var i = 0; i < 12; i++)
            {
                var (received, error) = await topology.CallAsync(A2FTopology.Header(), A2FTopology.Audio(speech), new Client.AudioStream { EndOfAudio = new() });
                outcomes.Add((received.Count(m => m.AnimationData is not null), error));
            }
            return outcomes;
        });
        var leaving = Enumerable.Range(0, 2).Select(lane => Task.Run(async () =>
        {
            while (!steady.IsCompleted)
            {
                using var call = topology.Controller.ProcessAudioStream(cancellationToken: stop.Token);
                await call.RequestStream.WriteAsync(A2FTopology.Header());
                // Chunk by chunk, as a voice arrives; the call is dropped once animation flows, with audio still queued.
                foreach (var chunk in speech.Chunk(4410 * 2).Take(3))
                {
                    await call.RequestStream.WriteAsync(A2FTopology.Audio(chunk));
                }
                for (var m = 0; m < 3 && await call.ResponseStream.MoveNext(stop.Token); m++)
                {
                }
                Interlocked.Increment(ref left);
            }
        })).ToArray();

        var outcomes = await steady;
        await Task.WhenAll(leaving);

        Assert.All(outcomes, o => A2FTopology.Succeeded(o.Error));
        Assert.Single(outcomes.Select(o => o.Frames).Distinct());
        Assert.True(left >= outcomes.Count, $"only {left} clients left mid-stream beside {outcomes.Count} whole streams");
    }
}

/// <summary>The controller with the shipped limit for inference to accept a stream (tests otherwise give it 3 s).</summary>
public sealed class ShippedAcceptLimitA2FTopology : A2FTopology
{
    protected override void Configure(IDistributedApplicationTestingBuilder builder) =>
        builder.Project("a2f-controller").WithEnvironment("A2F__InferenceAcceptTimeout", "00:00:00.8");
}

/// <summary>A topology of its own: stopping inference must not disturb other tests. It times an answer, so it runs alone.</summary>
[Collection(TimingSensitive.Name)]
public sealed class A2FOutageTests(ShippedAcceptLimitA2FTopology topology) : IClassFixture<ShippedAcceptLimitA2FTopology>
{
    [Fact]
    public async Task WithInferenceDownTheControllerAnswersUnavailableWithinASecond()
    {
        // One whole stream first, so the time measured is the controller's answer, not the first call's JIT compilation.
        A2FTopology.Succeeded((await topology.CallAsync(A2FTopology.Header(), A2FTopology.Audio(new byte[3200]), new Client.AudioStream { EndOfAudio = new() })).Error);
        await topology.App.StopResourceAsync("a2f-inference");
        var watch = Stopwatch.StartNew();

        var (_, error) = await topology.CallAsync(A2FTopology.Header(), A2FTopology.Audio(new byte[3200]), new Client.AudioStream { EndOfAudio = new() });

        Assert.Equal(StatusCode.Unavailable, error?.StatusCode);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"took {watch.Elapsed}");
    }
}

/// <summary>The controller with a one-second idle limit.</summary>
public sealed class ImpatientA2FTopology : A2FTopology
{
    protected override void Configure(IDistributedApplicationTestingBuilder builder) =>
        builder.Project("a2f-controller").WithEnvironment("A2F__IdleTimeout", "00:00:01");
}

[Collection(TimingSensitive.Name)]
public sealed class A2FIdleTests(ImpatientA2FTopology topology) : IClassFixture<ImpatientA2FTopology>
{
    [Fact]
    public async Task AStreamThatFallsSilentIsEndedAfterTheIdleLimit()
    {
        using var call = topology.Controller.ProcessAudioStream();
        await call.RequestStream.WriteAsync(A2FTopology.Header());
        await call.RequestStream.WriteAsync(A2FTopology.Audio(new byte[3200]));
        var watch = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<RpcException>(async () => { while (await call.ResponseStream.MoveNext()) { } });

        Assert.True(error.StatusCode == StatusCode.DeadlineExceeded, $"ended with {error.Status}");
        Assert.InRange(watch.Elapsed.TotalSeconds, 0.5, 10);
    }
}

/// <summary>Two controller replicas sharing the inference replicas.</summary>
public sealed class TwoControllersTopology : A2FTopology
{
    protected override void Configure(IDistributedApplicationTestingBuilder builder) =>
        builder.Project("a2f-controller").WithReplicas(2);
}

public sealed class A2FControllerReplicaTests(TwoControllersTopology topology) : IClassFixture<TwoControllersTopology>
{
    [Fact]
    public async Task EachControllerGetsTheAnimationOfItsOwnStreams()
    {
        // Each replica's own gRPC address, not the proxy in front of both: the test must reach both on purpose.
        var addresses = await topology.App.ReplicaEnvironmentAsync("a2f-controller", "Kestrel__Endpoints__grpc__Url");
        Assert.Equal(2, addresses.Count);
        foreach (var address in addresses)
        {
            await AvatarTesting.WaitUntilListeningAsync(new Uri(address), TimeSpan.FromSeconds(60));
        }
        var pcm = A2FTopology.Speech("Hello there.");

        var results = await Task.WhenAll(addresses.SelectMany(address => Enumerable.Range(0, 3).Select(async _ =>
        {
            using var channel = GrpcChannel.ForAddress(address.Replace("localhost", "127.0.0.1", StringComparison.Ordinal));
            using var call = new A2FControllerService.A2FControllerServiceClient(channel).ProcessAudioStream(deadline: DateTime.UtcNow.AddSeconds(30));
            await call.RequestStream.WriteAsync(A2FTopology.Header());
            await call.RequestStream.WriteAsync(A2FTopology.Audio(pcm));
            await call.RequestStream.WriteAsync(new Client.AudioStream { EndOfAudio = new() });
            await call.RequestStream.CompleteAsync();
            var frames = 0;
            while (await call.ResponseStream.MoveNext())
            {
                frames += call.ResponseStream.Current.AnimationData?.SkelAnimation?.BlendShapeWeights.Count ?? 0;
            }
            return frames;
        })));

        Assert.All(results, frames => Assert.True(frames > 20, $"{frames} frames"));
    }
}
