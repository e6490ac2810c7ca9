using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace Avatar.A2F.Inference.LipSync;

/// <summary>
/// One-line parts of an ONNX model in OnnxSharp's protobuf classes (the ONNX IR): float tensors, weights and nodes, which
/// the IR spells as four or five nested messages. The lip-sync model is written with them.
/// </summary>
public static class OnnxGraph
{
    /// <summary>The version of the standard (ai.onnx) operator set the nodes follow.</summary>
    public const int Opset = 13;

    /// <summary>A float tensor to declare as a graph input or output; -1 in <paramref name="dimensions"/> is given at run time.</summary>
    public static ValueInfoProto FloatTensor(string name, params long[] dimensions)
    {
        var shape = new TensorShapeProto();
        for (var i = 0; i < dimensions.Length; i++)
        {
            shape.Dim.Add(dimensions[i] < 0
                ? new TensorShapeProto.Types.Dimension { DimParam = $"{name}_{i}" }
                : new TensorShapeProto.Types.Dimension { DimValue = dimensions[i] });
        }
        var type = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape };
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = type } };
    }

    /// <summary>Constant float weights, which nodes name as an input.</summary>
    public static TensorProto Weights(string name, ReadOnlySpan<float> values, params long[] dimensions) => new()
    {
        Name = name,
        DataType = (int)TensorProto.Types.DataType.Float,
        Dims = { dimensions },
        // raw_data is little-endian, as ONNX prescribes, which is the order of every machine .NET runs this on.
        RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values)),
    };

    /// <summary>A node of the standard operator set with integer attributes (all the lip-sync model needs).</summary>
    public static NodeProto Node(string opType, string[] inputs, string[] outputs, params (string Name, long Value)[] attributes) => new()
    {
        OpType = opType,
        Input = { inputs },
        Output = { outputs },
        Attribute = { attributes.Select(a => new AttributeProto { Name = a.Name, Type = AttributeProto.Types.AttributeType.Int, I = a.Value }) },
    };

    /// <summary>A model of <paramref name="graph"/>, its nodes named by type and position (ONNX Runtime's errors name them).</summary>
    public static ModelProto Model(GraphProto graph)
    {
        for (var i = 0; i < graph.Node.Count; i++)
        {
            graph.Node[i].Name = $"{graph.Node[i].OpType}_{i}";
        }
        return new ModelProto
        {
            IrVersion = 8,
            ProducerName = "Avatar",
            ProducerVersion = "1",
            Graph = graph,
            OpsetImport = { new OperatorSetIdProto { Domain = "", Version = Opset } },
        };
    }
}
