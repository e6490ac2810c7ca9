using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Avatar.Tests.Hosting;
using Grpc.Core;
using Client = Nvidia.Ace.Controller.V1;

namespace Avatar.Tests.A2F;

/// <summary>The A2F pair with one stream allowed per caller.</summary>
public sealed class OneStreamPerCallerTopology : A2FTopology
{
    protected override void Configure(IDistributedApplicationTestingBuilder builder) =>
        builder.Project("a2f-controller").WithEnvironment("A2F__MaxStreamsPerCaller", "1");
}

public sealed class A2FCallerLimitTests(OneStreamPerCallerTopology topology) : IClassFixture<OneStreamPerCallerTopology>
{
    [Fact]
    public async Task A_caller_over_its_streams_gets_RESOURCE_EXHAUSTED_saying_why_and_is_served_once_one_ends()
    {
        var speech = A2FTopology.Speech("One stream at a time, please.");
        using var first = topology.Controller.ProcessAudioStream(deadline: DateTime.UtcNow.AddSeconds(30));
        await first.RequestStream.WriteAsync(A2FTopology.Header());
        await first.RequestStream.WriteAsync(A2FTopology.Audio(speech));
        Assert.True(await first.ResponseStream.MoveNext()); // the animation header: the first stream is being served

        var (_, refused) = await topology.CallAsync(A2FTopology.Header(), A2FTopology.Audio(speech));

        Assert.Equal(StatusCode.ResourceExhausted, refused?.StatusCode);
        Assert.Contains("A2F:MaxStreamsPerCaller", refused!.Status.Detail);
        await first.RequestStream.WriteAsync(new Client.AudioStream { EndOfAudio = new() });
        await first.RequestStream.CompleteAsync();
        while (await first.ResponseStream.MoveNext())
        {
        }
        var (received, error) = await topology.CallAsync(A2FTopology.Header(), A2FTopology.Audio(speech));
        A2FTopology.Succeeded(error);
        Assert.Equal(Client.AnimationDataStream.StreamPartOneofCase.Status, received[^1].StreamPartCase);
    }
}
