using Google.Protobuf;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization.Proto;

namespace OnnxTrtForge.Core.Serialization;

/// <summary>One tensor whose payload a model keeps in an external file.</summary>
public sealed record ExternalTensorRef(string Name, DataType Type, IReadOnlyList<long> Dims, string Location, long Offset, long Length);

/// <summary>
/// Lists a model's external-data references without opening the files they name (which may not
/// exist yet: a graph-only export whose weights are to be rebuilt). Initializers and Constant-style
/// attribute tensors are listed, subgraphs included, in file order.
/// </summary>
public static class ExternalDataIndex
{
    public static IReadOnlyList<ExternalTensorRef> Read(string modelPath)
    {
        if (!File.Exists(modelPath))
        {
            throw new ForgeInputException($"{modelPath}: file not found");
        }

        using var handle = File.OpenHandle(modelPath, FileMode.Open, FileAccess.Read, FileShare.Read);
        var length = RandomAccess.GetLength(handle);
        var (stripped, _) = StrippedModel.Split(handle, length, modelPath);
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(stripped);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ForgeInputException($"{modelPath}: corrupt ONNX protobuf: {e.Message}", e);
        }

        var refs = new List<ExternalTensorRef>();
        if (proto.Graph is not null)
        {
            Walk(proto.Graph, refs, modelPath);
        }

        return refs;
    }

    private static void Walk(GraphProto graph, List<ExternalTensorRef> refs, string file)
    {
        foreach (var tensor in graph.Initializer)
        {
            Add(tensor, refs, file);
        }

        foreach (var node in graph.Node)
        {
            foreach (var attribute in node.Attribute)
            {
                if (attribute.T is { } t)
                {
                    Add(t, refs, file);
                }

                foreach (var each in attribute.Tensors)
                {
                    Add(each, refs, file);
                }

                if (attribute.G is { } g)
                {
                    Walk(g, refs, file);
                }

                foreach (var each in attribute.Graphs)
                {
                    Walk(each, refs, file);
                }
            }
        }
    }

    private static void Add(TensorProto tensor, List<ExternalTensorRef> refs, string file)
    {
        if (tensor.DataLocation != TensorProto.Types.DataLocation.External)
        {
            return;
        }

        string? location = null;
        long offset = 0;
        long length = -1;
        foreach (var entry in tensor.ExternalData)
        {
            switch (entry.Key)
            {
                case "location":
                    location = entry.Value;
                    break;
                case "offset":
                    offset = long.TryParse(entry.Value, System.Globalization.CultureInfo.InvariantCulture, out var o) && o >= 0 ? o
                        : throw new ForgeInputException($"{file}: tensor '{tensor.Name}': external data offset '{entry.Value}' is not a non-negative integer");
                    break;
                case "length":
                    length = long.TryParse(entry.Value, System.Globalization.CultureInfo.InvariantCulture, out var l) && l >= 0 ? l
                        : throw new ForgeInputException($"{file}: tensor '{tensor.Name}': external data length '{entry.Value}' is not a non-negative integer");
                    break;
            }
        }

        if (string.IsNullOrEmpty(location))
        {
            throw new ForgeInputException($"{file}: tensor '{tensor.Name}': external data without a location");
        }

        refs.Add(new ExternalTensorRef(tensor.Name, (DataType)tensor.DataType, tensor.Dims.ToArray(), location, offset, length));
    }
}
