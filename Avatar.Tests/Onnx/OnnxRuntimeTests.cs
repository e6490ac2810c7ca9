using Avatar.Onnx;

namespace Avatar.Tests.Onnx;

public sealed class OnnxRuntimeTests
{
    // y = relu(x @ W^T + b) with x [N, 3], W [2, 3], b [2].
    private static readonly float[] s_weights = [0.5f, -1f, 2f, 1.5f, 0.25f, -0.5f];
    private static readonly float[] s_bias = [0.1f, -0.2f];

    private static byte[] DenseReluModel() => new OnnxModelBuilder()
        .AddInput("x", TensorElementType.Float, -1, 3)
        .AddInitializer("W", s_weights, 2, 3)
        .AddInitializer("b", s_bias, 2)
        .AddNode("Gemm", ["x", "W", "b"], ["z"], ("transB", 1))
        .AddNode("Relu", ["z"], ["y"])
        .AddOutput("y", TensorElementType.Float, -1, 2)
        .ToBytes();

    [Fact]
    public void TheNativeLibraryFromTheNpmPackageLoads()
    {
        Assert.Equal("1.30.0", OrtEnv.Version);
    }

    [Fact]
    public void AModelBuiltInCSharpComputesWhatCSharpComputes()
    {
        using var session = new InferenceSession(DenseReluModel());
        float[] x = [1, 2, 3, -1, 0, 1, 0.5f, 0.5f, 0.5f];
        var y = new float[6];
        using var input = OrtValue.CreateTensorValueFromMemory<float>(x, [3, 3]);
        using var output = OrtValue.CreateTensorValueFromMemory<float>(y, [3, 2]);

        session.Run([input], [output]);

        AssertClose(Expected(x, 3), y);
    }

    [Fact]
    public void SessionsLoadFromFilesAndAllocateOutputsWhenAsked()
    {
        var path = Path.Combine(Path.GetTempPath(), $"dense-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, DenseReluModel());
        try
        {
            using var options = new SessionOptions { IntraOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.All };
            using var session = new InferenceSession(path, options);
            float[] x = [2, -1, 0.5f];
            using var input = OrtValue.CreateTensorValueFromMemory<float>(x, [1, 3]);

            var outputs = session.Run([input]);
            using var y = outputs.Single();

            var (type, shape) = y.GetTensorTypeAndShape();
            Assert.Equal(TensorElementType.Float, type);
            Assert.Equal([1L, 2], shape);
            AssertClose(Expected(x, 1), y.GetTensorDataAsSpan<float>().ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void TheSessionDescribesItsInputsAndOutputs()
    {
        using var session = new InferenceSession(DenseReluModel());

        Assert.Equal(["x"], session.InputNames);
        Assert.Equal(["y"], session.OutputNames);
        Assert.Equal(TensorElementType.Float, session.InputMetadata["x"].ElementType);
        Assert.Equal([-1L, 3], session.InputMetadata["x"].Dimensions);
        Assert.Equal([-1L, 2], session.OutputMetadata["y"].Dimensions);
    }

    [Fact]
    public void AWrongShapeIsAnErrorWithOnnxRuntimesMessage()
    {
        using var session = new InferenceSession(DenseReluModel());
        using var input = OrtValue.CreateTensorValueFromMemory<float>(new float[4], [2, 2]);

        var error = Assert.Throws<OnnxRuntimeException>(() => session.Run([input]).ToList());

        Assert.Equal(OrtErrorCode.InvalidArgument, error.ErrorCode);
        Assert.Contains("x", error.Message);
    }

    [Fact]
    public void GarbageIsRejectedAsAnInvalidModel()
    {
        var error = Assert.Throws<OnnxRuntimeException>(() => new InferenceSession("not a model"u8.ToArray()));

        Assert.Equal(OrtErrorCode.InvalidProtobuf, error.ErrorCode);
    }

    [Fact]
    public void ManyThreadsCanRunOneSessionAtOnce()
    {
        using var session = new InferenceSession(DenseReluModel());

        Parallel.For(0, 200, i =>
        {
            float[] x = [i, -i, i * 0.5f];
            var y = new float[2];
            using var input = OrtValue.CreateTensorValueFromMemory<float>(x, [1, 3]);
            using var output = OrtValue.CreateTensorValueFromMemory<float>(y, [1, 2]);
            session.Run([input], [output]);
            AssertClose(Expected(x, 1), y);
        });
    }

    [Fact]
    public void DisposingTwiceIsHarmless()
    {
        var session = new InferenceSession(DenseReluModel());
        var value = OrtValue.CreateTensorValueFromMemory<float>(new float[3], [1, 3]);

        session.Dispose();
        session.Dispose();
        value.Dispose();
        value.Dispose();
    }

    [Fact]
    public void AskingForCudaWithoutItsLibraryIsAClearError()
    {
        using var options = new SessionOptions();

        var error = Record.Exception(() => options.AppendExecutionProvider_CUDA());

        // On a machine with CUDA and the provider library this succeeds; here (no GPU) it must fail with a message.
        if (error is not null)
        {
            Assert.IsType<OnnxRuntimeException>(error);
            Assert.NotEmpty(error.Message);
        }
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            // ONNX Runtime may sum in another order: equal to float precision, relative to the size.
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * Math.Max(1, Math.Abs(expected[i])), $"{expected[i]} vs {actual[i]}");
        }
    }

    private static float[] Expected(float[] x, int rows)
    {
        var y = new float[rows * 2];
        for (var r = 0; r < rows; r++)
        {
            for (var o = 0; o < 2; o++)
            {
                var sum = s_bias[o];
                for (var i = 0; i < 3; i++)
                {
                    sum += x[(r * 3) + i] * s_weights[(o * 3) + i];
                }
                y[(r * 2) + o] = Math.Max(0, sum);
            }
        }
        return y;
    }
}
