using Avatar.Onnx.Model;
using Google.Protobuf;

namespace Avatar.Onnx;

/// <summary>
/// Writes an ONNX model (the ModelProto protobuf) from C#: inputs, outputs, initializers (weights) and nodes of the
/// standard operator set. How the project turns its own trained weights into a file ONNX Runtime runs.
/// </summary>
/// <param name="opset">The ai.onnx operator set version the nodes follow.</param>
public sealed class OnnxModelBuilder(int opset = 13)
{
    private readonly GraphProto _graph = new() { Name = "graph" };
    private readonly ModelProto _model = new() { IrVersion = 8, ProducerName = "Avatar", ProducerVersion = "1" };

    /// <summary>Declares a graph input; -1 in <paramref name="dimensions"/> is a dimension given at run time.</summary>
    public OnnxModelBuilder AddInput(string name, TensorElementType type, params long[] dimensions)
    {
        _graph.Input.Add(ValueInfo(name, type, dimensions));
        return this;
    }

    /// <summary>Declares a graph output.</summary>
    public OnnxModelBuilder AddOutput(string name, TensorElementType type, params long[] dimensions)
    {
        _graph.Output.Add(ValueInfo(name, type, dimensions));
        return this;
    }

    /// <summary>Adds a constant float tensor (weights) that nodes can name as an input.</summary>
    public OnnxModelBuilder AddInitializer(string name, ReadOnlySpan<float> values, params long[] dimensions)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(dimensions);
        // raw_data is little-endian, as ONNX prescribes, which is this machine's order.
        tensor.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values));
        _graph.Initializer.Add(tensor);
        return this;
    }

    /// <summary>Adds a constant int64 tensor (shapes, axes).</summary>
    public OnnxModelBuilder AddInitializer(string name, long[] values, params long[] dimensions)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Dims.AddRange(dimensions);
        tensor.Int64Data.AddRange(values);
        _graph.Initializer.Add(tensor);
        return this;
    }

    /// <summary>
    /// Adds a node. Attribute values may be int or long (INT), float (FLOAT), string (STRING), long[] (INTS) or
    /// float[] (FLOATS).
    /// </summary>
    public OnnxModelBuilder AddNode(string opType, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = $"{opType}_{_graph.Node.Count}" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        foreach (var (name, value) in attributes)
        {
            node.Attribute.Add(Attribute(name, value));
        }
        _graph.Node.Add(node);
        return this;
    }

    /// <summary>Adds a key/value pair to the model's metadata.</summary>
    public OnnxModelBuilder AddMetadata(string key, string value)
    {
        _model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return this;
    }

    /// <summary>The serialised model.</summary>
    public byte[] ToBytes()
    {
        var model = _model.Clone();
        model.Graph = _graph;
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return model.ToByteArray();
    }

    /// <summary>Writes the model to a file.</summary>
    public void Save(string path) => File.WriteAllBytes(path, ToBytes());

    private static ValueInfoProto ValueInfo(string name, TensorElementType type, long[] dimensions)
    {
        var shape = new TensorShapeProto();
        for (var i = 0; i < dimensions.Length; i++)
        {
            shape.Dim.Add(dimensions[i] < 0 ? new TensorShapeProto.Types.Dimension { DimParam = $"{name}_{i}" } : new TensorShapeProto.Types.Dimension { DimValue = dimensions[i] });
        }
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
    }

    private static AttributeProto Attribute(string name, object value) => value switch
    {
        int i => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = i },
        long l => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = l },
        float f => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = f },
        string s => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(s) },
        long[] ints => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints, Ints = { ints } },
        float[] floats => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Floats, Floats = { floats } },
        _ => throw new ArgumentException($"Attribute '{name}' has a value of unsupported type {value.GetType().Name}.", nameof(value)),
    };
}
