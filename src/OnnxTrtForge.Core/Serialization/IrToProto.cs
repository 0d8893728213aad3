using Google.Protobuf;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization.Proto;
using IrAttribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Serialization;

/// <summary>IR → protobuf messages. The main graph's initializers are left out: the writer streams them.</summary>
internal static class IrToProto
{
    public static ModelProto ToModelProto(Model model)
    {
        var proto = new ModelProto
        {
            IrVersion = model.IrVersion,
            Graph = ToGraphProto(model.Graph, includeInitializers: false),
        };
        if (model.ProducerName.Length > 0)
        {
            proto.ProducerName = model.ProducerName;
        }

        if (model.ProducerVersion.Length > 0)
        {
            proto.ProducerVersion = model.ProducerVersion;
        }

        if (model.Domain.Length > 0)
        {
            proto.Domain = model.Domain;
        }

        if (model.ModelVersion != 0)
        {
            proto.ModelVersion = model.ModelVersion;
        }

        if (model.DocString.Length > 0)
        {
            proto.DocString = model.DocString;
        }

        foreach (var (domain, version) in model.OpsetImports)
        {
            proto.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = version });
        }

        AddMetadata(proto.MetadataProps, model.MetadataProps);
        proto.TrainingInfo.AddRange(model.TrainingInfo.Select(TrainingInfoProto.Parser.ParseFrom));
        proto.Configuration.AddRange(model.Configurations.Select(DeviceConfigurationProto.Parser.ParseFrom));
        proto.Functions.AddRange(model.Functions.Select(ToFunctionProto));
        return proto;
    }

    private static FunctionProto ToFunctionProto(Function function)
    {
        var proto = new FunctionProto { Name = function.Name, Domain = function.Domain };
        if (function.Overload.Length > 0)
        {
            proto.Overload = function.Overload;
        }

        if (function.DocString.Length > 0)
        {
            proto.DocString = function.DocString;
        }

        proto.Input.AddRange(function.Body.Inputs.Select(v => v.Name));
        proto.Output.AddRange(function.Body.Outputs.Select(v => v.Name));
        proto.Attribute.AddRange(function.AttributeNames);
        proto.AttributeProto.AddRange(function.AttributeDefaults.Select(ToAttributeProto));
        foreach (var (domain, version) in function.OpsetImports)
        {
            proto.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = version });
        }

        proto.Node.AddRange(function.Body.Nodes.Select(ToNodeProto));
        proto.ValueInfo.AddRange(ValueInfos(function.Body));
        AddMetadata(proto.MetadataProps, function.MetadataProps);
        return proto;
    }

    public static GraphProto ToGraphProto(Graph graph, bool includeInitializers = true)
    {
        var proto = new GraphProto();
        if (graph.Name.Length > 0)
        {
            proto.Name = graph.Name;
        }

        if (graph.DocString.Length > 0)
        {
            proto.DocString = graph.DocString;
        }

        proto.Input.AddRange(graph.Inputs.Select(ToValueInfo));
        proto.Output.AddRange(graph.Outputs.Select(ToValueInfo));
        proto.Node.AddRange(graph.Nodes.Select(ToNodeProto));
        if (includeInitializers)
        {
            proto.Initializer.AddRange(graph.Initializers.Select(v => ToTensorProto(v.Initializer!, withData: true)));
        }

        proto.ValueInfo.AddRange(ValueInfos(graph));
        proto.SparseInitializer.AddRange(graph.SparseInitializers.Select(SparseTensorProto.Parser.ParseFrom));
        proto.QuantizationAnnotation.AddRange(graph.QuantizationAnnotations.Select(TensorAnnotation.Parser.ParseFrom));
        AddMetadata(proto.MetadataProps, graph.MetadataProps);
        return proto;
    }

    /// <summary>value_info for every typed node output that is not a graph output.</summary>
    private static IEnumerable<ValueInfoProto> ValueInfos(Graph graph)
    {
        var outputs = new HashSet<Value>(graph.Outputs);
        foreach (var node in graph.Nodes)
        {
            foreach (var output in node.Outputs)
            {
                if (output.Name.Length > 0 && (output.Type is not null || output.DocString.Length > 0 || output.MetadataProps.Count > 0) && !outputs.Contains(output))
                {
                    yield return ToValueInfo(output);
                }
            }
        }
    }

    private static ValueInfoProto ToValueInfo(Value value)
    {
        var proto = new ValueInfoProto { Name = value.Name };
        if (value.Type is not null)
        {
            proto.Type = ToTypeProto(value.Type);
        }

        if (value.DocString.Length > 0)
        {
            proto.DocString = value.DocString;
        }

        AddMetadata(proto.MetadataProps, value.MetadataProps);
        return proto;
    }

    private static TypeProto ToTypeProto(TypeInfo type)
    {
        var proto = new TypeProto();
        if (type.Denotation.Length > 0)
        {
            proto.Denotation = type.Denotation;
        }

        switch (type.Kind)
        {
            case TypeKind.Tensor:
                proto.TensorType = new TypeProto.Types.Tensor { ElemType = (int)type.ElementType, Shape = ToShape(type) };
                break;
            case TypeKind.SparseTensor:
                proto.SparseTensorType = new TypeProto.Types.SparseTensor { ElemType = (int)type.ElementType, Shape = ToShape(type) };
                break;
            case TypeKind.Sequence:
                proto.SequenceType = new TypeProto.Types.Sequence { ElemType = type.Inner is null ? null : ToTypeProto(type.Inner) };
                break;
            case TypeKind.Optional:
                proto.OptionalType = new TypeProto.Types.Optional { ElemType = type.Inner is null ? null : ToTypeProto(type.Inner) };
                break;
            case TypeKind.Map:
                proto.MapType = new TypeProto.Types.Map { KeyType = (int)type.KeyType, ValueType = type.Inner is null ? null : ToTypeProto(type.Inner) };
                break;
            default:
                proto.OpaqueType = new TypeProto.Types.Opaque { Domain = type.OpaqueDomain, Name = type.OpaqueName };
                break;
        }

        return proto;
    }

    private static TensorShapeProto? ToShape(TypeInfo type)
    {
        if (type.Shape is null)
        {
            return null;
        }

        var shape = new TensorShapeProto();
        for (var i = 0; i < type.Shape.Count; i++)
        {
            var d = type.Shape[i];
            var dim = new TensorShapeProto.Types.Dimension();
            if (d.Value is { } v)
            {
                dim.DimValue = v;
            }
            else if (d.Param is { } p)
            {
                dim.DimParam = p;
            }

            if (type.DimDenotations is { } den && i < den.Count && den[i].Length > 0)
            {
                dim.Denotation = den[i];
            }

            shape.Dim.Add(dim);
        }

        return shape;
    }

    private static NodeProto ToNodeProto(Node node)
    {
        var proto = new NodeProto { OpType = node.OpType };
        if (node.Name.Length > 0)
        {
            proto.Name = node.Name;
        }

        if (node.Domain.Length > 0)
        {
            proto.Domain = node.Domain;
        }

        if (node.Overload.Length > 0)
        {
            proto.Overload = node.Overload;
        }

        if (node.DocString.Length > 0)
        {
            proto.DocString = node.DocString;
        }

        // Trailing omitted inputs are dropped; interior ones stay as "".
        var last = node.Inputs.Count - 1;
        while (last >= 0 && node.Inputs[last] is null)
        {
            last--;
        }

        for (var i = 0; i <= last; i++)
        {
            proto.Input.Add(node.Inputs[i]?.Name ?? "");
        }

        proto.Output.AddRange(node.Outputs.Select(o => o.Name));
        proto.Attribute.AddRange(node.Attributes.Values.Select(ToAttributeProto));
        AddMetadata(proto.MetadataProps, node.MetadataProps);
        proto.DeviceConfigurations.AddRange(node.DeviceConfigurations.Select(NodeDeviceConfigurationProto.Parser.ParseFrom));
        return proto;
    }

    private static AttributeProto ToAttributeProto(IrAttribute a)
    {
        var proto = new AttributeProto { Name = a.Name, Type = (AttributeProto.Types.AttributeType)(int)a.Type };
        if (a.DocString.Length > 0)
        {
            proto.DocString = a.DocString;
        }

        if (a.RefAttrName.Length > 0)
        {
            proto.RefAttrName = a.RefAttrName;
            return proto;
        }

        switch (a.Type)
        {
            case AttributeType.Float:
                proto.F = a.F;
                break;
            case AttributeType.Int:
                proto.I = a.I;
                break;
            case AttributeType.String:
                proto.S = ByteString.CopyFrom(a.S);
                break;
            case AttributeType.Tensor:
                proto.T = ToTensorProto(a.T!, withData: true);
                break;
            case AttributeType.Graph:
                proto.G = ToGraphProto(a.G!);
                break;
            case AttributeType.Floats:
                proto.Floats.AddRange(a.Floats);
                break;
            case AttributeType.Ints:
                proto.Ints.AddRange(a.Ints);
                break;
            case AttributeType.Strings:
                proto.Strings.AddRange(a.Strings.Select(ByteString.CopyFrom));
                break;
            case AttributeType.Tensors:
                proto.Tensors.AddRange(a.Tensors.Select(t => ToTensorProto(t, withData: true)));
                break;
            case AttributeType.Graphs:
                proto.Graphs.AddRange(a.Graphs.Select(g => ToGraphProto(g)));
                break;
            case AttributeType.SparseTensor:
                proto.SparseTensor = SparseTensorProto.Parser.ParseFrom(a.SparseTensors[0]);
                break;
            case AttributeType.SparseTensors:
                proto.SparseTensors.AddRange(a.SparseTensors.Select(SparseTensorProto.Parser.ParseFrom));
                break;
            case AttributeType.TypeProto:
                proto.Tp = ToTypeProto(a.TypeInfos[0]);
                break;
            case AttributeType.TypeProtos:
                proto.TypeProtos.AddRange(a.TypeInfos.Select(ToTypeProto));
                break;
        }

        return proto;
    }

    /// <summary>A TensorProto with dims, type and name; raw_data only when <paramref name="withData"/>.</summary>
    public static TensorProto ToTensorProto(Tensor tensor, bool withData)
    {
        var proto = new TensorProto { DataType = (int)tensor.Type };
        proto.Dims.AddRange(tensor.Dims);
        if (tensor.Name.Length > 0)
        {
            proto.Name = tensor.Name;
        }

        if (tensor.DocString.Length > 0)
        {
            proto.DocString = tensor.DocString;
        }

        AddMetadata(proto.MetadataProps, tensor.MetadataProps);
        if (tensor.Strings is not null)
        {
            proto.StringData.AddRange(tensor.Strings.Select(ByteString.CopyFrom));
        }
        else if (withData)
        {
            proto.RawData = ByteString.CopyFrom(tensor.Data.Span);
        }

        return proto;
    }

    private static void AddMetadata(IList<StringStringEntryProto> target, IReadOnlyDictionary<string, string> source)
    {
        foreach (var (key, value) in source)
        {
            target.Add(new StringStringEntryProto { Key = key, Value = value });
        }
    }
}
