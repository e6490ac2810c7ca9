using System.Reflection;
using Avatar.A2F.Inference.LipSync;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;

namespace Avatar.Tests.Onnx;

/// <summary>What the service relies on in Microsoft.ML.OnnxRuntime, on models written with OnnxSharp as `make model` writes them.</summary>
public sealed class OnnxRuntimeTests
{
    // y = relu(x @ W^T + b) with x [N, 3], W [2, 3], b [2].
    private static readonly float[] s_weights = [0.5f, -1f, 2f, 1.5f, 0.25f, -0.5f];
    private static readonly float[] s_bias = [0.1f, -0.2f];

    private static byte[] DenseReluModel() => OnnxGraph.Model(new GraphProto
    {
        Name = "dense",
        Input = { OnnxGraph.FloatTensor("x", -1, 3) },
        Initializer = { OnnxGraph.Weights("W", s_weights, 2, 3), OnnxGraph.Weights("b", s_bias, 2) },
        Node = { OnnxGraph.Node("Gemm", ["x", "W", "b"], ["z"], ("transB", 1)), OnnxGraph.Node("Relu", ["z"], ["y"]) },
        Output = { OnnxGraph.FloatTensor("y", -1, 2) },
    }).ToByteArray();

    [Fact]
    public void TheNativeLibraryIsTheReleaseOfTheManagedApi()
    {
        // The CPU and CUDA packages are different releases (1.31.1, 1.31.0): each must come with its own managed API.
        var managed = typeof(InferenceSession).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0];

        Assert.Equal(managed, OrtEnv.Instance().GetVersionString());
    }

    [Fact]
    public void AModelBuiltInCSharpComputesWhatCSharpComputes()
    {
        using var session = new InferenceSession(DenseReluModel());
        using var runOptions = new RunOptions();
        float[] x = [1, 2, 3, -1, 0, 1, 0.5f, 0.5f, 0.5f];
        var y = new float[6];
        using var input = OrtValue.CreateTensorValueFromMemory(x, [3, 3]);
        using var output = OrtValue.CreateTensorValueFromMemory(y, [3, 2]);

        session.Run(runOptions, ["x"], [input], ["y"], [output]);

        AssertClose(Expected(x, 3), y);
    }

    [Fact]
    public void SessionsLoadFromFilesAndAllocateOutputsWhenAsked()
    {
        var path = Path.Combine(Path.GetTempPath(), $"dense-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, DenseReluModel());
        try
        {
            using var options = new SessionOptions { IntraOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
            using var session = new InferenceSession(path, options);
            using var runOptions = new RunOptions();
            float[] x = [2, -1, 0.5f];
            using var input = OrtValue.CreateTensorValueFromMemory(x, [1, 3]);

            using var outputs = session.Run(runOptions, ["x"], [input], ["y"]);
            var y = outputs.Single();

            var shape = y.GetTensorTypeAndShape();
            Assert.Equal(TensorElementType.Float, shape.ElementDataType);
            Assert.Equal([1L, 2], shape.Shape);
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
        Assert.Equal(TensorElementType.Float, session.InputMetadata["x"].ElementDataType);
        Assert.Equal([-1, 3], session.InputMetadata["x"].Dimensions);
        Assert.Equal([-1, 2], session.OutputMetadata["y"].Dimensions);
    }

    [Fact]
    public void AWrongShapeIsAnErrorWithOnnxRuntimesMessage()
    {
        using var session = new InferenceSession(DenseReluModel());
        using var runOptions = new RunOptions();
        using var input = OrtValue.CreateTensorValueFromMemory(new float[4], [2, 2]);

        var error = Assert.Throws<OnnxRuntimeException>(() => session.Run(runOptions, ["x"], [input], ["y"]).Dispose());

        // The managed API keeps the error code internal; ONNX Runtime puts it at the head of the message.
        Assert.StartsWith("[ErrorCode:InvalidArgument]", error.Message);
        Assert.Contains("x", error.Message);
    }

    [Fact]
    public void GarbageIsRejectedAsAnInvalidModel()
    {
        var error = Assert.Throws<OnnxRuntimeException>(() => new InferenceSession("not a model"u8.ToArray()));

        Assert.StartsWith("[ErrorCode:InvalidProtobuf]", error.Message);
    }

    [Fact]
    public void ManyThreadsCanRunOneSessionAtOnce()
    {
        using var session = new InferenceSession(DenseReluModel());
        using var runOptions = new RunOptions();

        Parallel.For(0, 200, i =>
        {
            float[] x = [i, -i, i * 0.5f];
            var y = new float[2];
            using var input = OrtValue.CreateTensorValueFromMemory(x, [1, 3]);
            using var output = OrtValue.CreateTensorValueFromMemory(y, [1, 2]);
            session.Run(runOptions, ["x"], [input], ["y"], [output]);
            AssertClose(Expected(x, 1), y);
        });
    }

    [Fact]
    public void DisposingTwiceIsHarmless()
    {
        var session = new InferenceSession(DenseReluModel());
        var value = OrtValue.CreateTensorValueFromMemory(new float[3], [1, 3]);

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

        if (!OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider"))
        {
            // The CPU build lacks even the entry point, which is why the service asks for the providers first.
            Assert.IsType<EntryPointNotFoundException>(error);
        }
        else if (error is not null)
        {
            // The CUDA build where CUDA's libraries are missing; with them (and a GPU) the call succeeds.
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
