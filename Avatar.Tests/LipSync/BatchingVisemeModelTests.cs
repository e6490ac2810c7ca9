using Avatar.A2F.Inference.LipSync;

namespace Avatar.Tests.LipSync;

public sealed class BatchingVisemeModelTests
{
    [Fact]
    public async Task ConcurrentRequestsShareModelRunsAndEachGetsItsOwnAnswer()
    {
        var network = new LipSyncNetwork();
        var random = new Random(3);
        for (var i = 0; i < network.W1.Length; i++)
        {
            network.W1[i] = (float)(random.NextDouble() - 0.5);
        }
        for (var i = 0; i < network.W3.Length; i++)
        {
            network.W3[i] = (float)(random.NextDouble() - 0.5);
        }
        var slow = new SlowModel(network);
        await using var batching = new BatchingVisemeModel(slow);
        var requests = Enumerable.Range(0, 64).Select(i =>
        {
            var rows = 1 + (i % 4);
            var inputs = Enumerable.Range(0, rows * LipSyncNetwork.InputSize).Select(_ => (float)random.NextDouble() * 4).ToArray();
            return (inputs, rows, output: new float[rows * LipSyncNetwork.Outputs]);
        }).ToList();

        await Task.WhenAll(requests.Select(r => batching.PredictAsync(r.inputs, r.rows, r.output).AsTask()));

        foreach (var (inputs, rows, output) in requests)
        {
            var expected = new float[rows * LipSyncNetwork.Outputs];
            network.Run(inputs, rows, expected);
            Assert.Equal(expected, output);
        }
        Assert.True(batching.Statistics.Runs < requests.Count, $"{batching.Statistics.Runs} runs for {requests.Count} requests");
    }

    /// <summary>Takes a little time per run, as a real model does, so requests pile up behind it.</summary>
    private sealed class SlowModel(IVisemeModel inner) : IVisemeModel
    {
        public void Run(Memory<float> inputs, int rows, Memory<float> probabilities)
        {
            Thread.Sleep(5);
            inner.Run(inputs, rows, probabilities);
        }
    }
}
