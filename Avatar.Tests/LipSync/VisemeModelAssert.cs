using Avatar.A2F.Inference.LipSync;

namespace Avatar.Tests.LipSync;

internal static class VisemeModelAssert
{
    /// <summary>Both models give the same viseme probabilities, to 4 decimals, on random log-mel rows.</summary>
    public static void Agree(IVisemeModel expected, IVisemeModel actual, int rows, int seed)
    {
        var random = new Random(seed);
        var inputs = Enumerable.Range(0, rows * LipSyncNetwork.InputSize).Select(_ => (float)(random.NextDouble() * 20 - 15)).ToArray();
        var expectedProbabilities = new float[rows * LipSyncNetwork.Outputs];
        var actualProbabilities = new float[rows * LipSyncNetwork.Outputs];

        expected.Run(inputs, rows, expectedProbabilities);
        actual.Run(inputs, rows, actualProbabilities);

        // A tolerance, not a number of decimals: rounding both to 4 places fails 0.07205003 against 0.07204998.
        Assert.All(expectedProbabilities.Zip(actualProbabilities), p => Assert.Equal(p.First, p.Second, 1e-4));
    }
}
