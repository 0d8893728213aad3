using System.Runtime.InteropServices;
using Google.Protobuf;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization.Proto;
using IrAttribute = OnnxTrtForge.Core.Ir.Attribute;
using IrAttributeType = OnnxTrtForge.Core.Ir.AttributeType;

namespace OnnxTrtForge.Core.Serialization;

/// <summary>
/// Loads an ONNX file into the IR. Initializer payloads are never copied: embedded raw_data becomes a
/// slice of the memory-mapped model file, external data a lazily mapped slice of its file. Every
/// inconsistency is a <see cref="ForgeInputException"/> naming the file and the place.
/// </summary>
public static class OnnxReader
{
    public static Model Load(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new ForgeInputException($"{path}: file not found");
        }

        if (FilePaths.KindOf(full) != FileKind.Regular)
        {
            throw new ForgeInputException($"{path}: not a regular file");
        }

        var file = new MappedFile(full);
        try
        {
            var model = LoadMapped(file, path);
            model.MappedFiles.Insert(0, file);
            model.SourcePath = full;
            return model;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Parses a single TensorProto file (the ONNX test-data .pb format) into a managed tensor.</summary>
    public static Tensor LoadTensor(string path)
    {
        if (!File.Exists(path))
        {
            throw new ForgeInputException($"{path}: file not found");
        }

        TensorProto proto;
        try
        {
            proto = TensorProto.Parser.ParseFrom(File.ReadAllBytes(path));
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ForgeInputException($"{path}: not a serialized TensorProto: {e.Message}", e);
        }

        var context = new Context(path, Path.GetDirectoryName(Path.GetFullPath(path))!, null, null, []);
        return context.ToTensor(proto, null, $"tensor file {Path.GetFileName(path)}");
    }

    private static Model LoadMapped(MappedFile file, string displayPath)
    {
        if (file.Length == 0)
        {
            throw new ForgeInputException($"{displayPath}: empty file, not an ONNX model");
        }

        var (stripped, slices) = StrippedModel.Split(file.Handle, file.Length, displayPath);
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(stripped);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ForgeInputException($"{displayPath}: corrupt ONNX protobuf: {e.Message}", e);
        }

        if (proto.Graph is null)
        {
            throw new ForgeInputException($"{displayPath}: no graph (not an ONNX model)");
        }

        var context = new Context(displayPath, Path.GetDirectoryName(file.Path)!, file, slices, []);
        var model = context.ToModel(proto);
        model.MappedFiles.AddRange(context.ExternalFiles.Values);
        return model;
    }

    private sealed class Context(string file, string folder, MappedFile? modelFile, List<(long Offset, long Length)?>? rawSlices, Dictionary<string, MappedFile> externalFiles)
    {
        public Dictionary<string, MappedFile> ExternalFiles => externalFiles;

        private ForgeInputException Error(string place, string what) => new($"{file}: {place}: {what}");

        public Model ToModel(ModelProto proto)
        {
            var graph = new Graph(proto.Graph.Name);
            var model = new Model(graph)
            {
                IrVersion = proto.IrVersion,
                ProducerName = proto.ProducerName,
                ProducerVersion = proto.ProducerVersion,
                Domain = proto.Domain,
                ModelVersion = proto.ModelVersion,
                DocString = proto.DocString,
            };
            foreach (var opset in proto.OpsetImport)
            {
                model.OpsetImports[opset.Domain] = opset.Version;
            }

            Metadata(proto.MetadataProps, model.MetadataProps);
            model.TrainingInfo.AddRange(proto.TrainingInfo.Select(t => t.ToByteArray()));
            model.Configurations.AddRange(proto.Configuration.Select(c => c.ToByteArray()));
            FillGraph(graph, proto.Graph, $"graph '{proto.Graph.Name}'", isMain: true);
            foreach (var function in proto.Functions)
            {
                model.Functions.Add(ToFunction(function));
            }

            return model;
        }

        private Function ToFunction(FunctionProto proto)
        {
            var place = $"function '{proto.Domain}.{proto.Name}'";
            var body = new Graph(proto.Name);
            var scope = new Dictionary<string, Value>(StringComparer.Ordinal);
            foreach (var input in proto.Input)
            {
                scope[input] = body.AddInput(input, null);
            }

            var function = new Function(proto.Domain, proto.Name, body) { Overload = proto.Overload, DocString = proto.DocString };
            function.AttributeNames.AddRange(proto.Attribute);
            foreach (var attribute in proto.AttributeProto)
            {
                function.AttributeDefaults.Add(ToAttribute(attribute, body, place));
            }

            foreach (var opset in proto.OpsetImport)
            {
                function.OpsetImports[opset.Domain] = opset.Version;
            }

            Metadata(proto.MetadataProps, function.MetadataProps);
            FillNodes(body, proto.Node, scope, place);
            foreach (var info in proto.ValueInfo)
            {
                if (scope.TryGetValue(info.Name, out var v))
                {
                    ApplyValueInfo(v, info, place);
                }
            }

            foreach (var output in proto.Output)
            {
                body.Outputs.Add(scope.TryGetValue(output, out var v) ? v : throw Error(place, $"output '{output}' is not defined by any node or input"));
            }

            return function;
        }

        private void FillGraph(Graph graph, GraphProto proto, string place, bool isMain)
        {
            graph.DocString = proto.DocString;
            Metadata(proto.MetadataProps, graph.MetadataProps);
            graph.SparseInitializers.AddRange(proto.SparseInitializer.Select(s => s.ToByteArray()));
            graph.QuantizationAnnotations.AddRange(proto.QuantizationAnnotation.Select(q => q.ToByteArray()));
            var scope = new Dictionary<string, Value>(StringComparer.Ordinal);
            foreach (var input in proto.Input)
            {
                if (string.IsNullOrEmpty(input.Name))
                {
                    throw Error(place, "a graph input has no name");
                }

                if (scope.ContainsKey(input.Name))
                {
                    throw Error(place, $"graph input '{input.Name}' is declared twice");
                }

                var value = graph.AddInput(input.Name, null);
                ApplyValueInfo(value, input, place);
                scope[input.Name] = value;
            }

            for (var i = 0; i < proto.Initializer.Count; i++)
            {
                var tensorProto = proto.Initializer[i];
                var raw = isMain && rawSlices is not null && i < rawSlices.Count ? rawSlices[i] : null;
                var tensor = ToTensor(tensorProto, raw, $"{place}, initializer '{tensorProto.Name}'");
                if (string.IsNullOrEmpty(tensorProto.Name))
                {
                    throw Error(place, $"initializer #{i} has no name");
                }

                if (scope.TryGetValue(tensorProto.Name, out var existing))
                {
                    if (!existing.IsGraphInput || existing.IsInitializer)
                    {
                        throw Error(place, $"initializer '{tensorProto.Name}' is declared twice");
                    }

                    graph.AttachInitializer(existing, tensor);
                }
                else
                {
                    scope[tensorProto.Name] = graph.AddInitializer(tensor, tensorProto.Name);
                }
            }

            FillNodes(graph, proto.Node, scope, place);
            foreach (var info in proto.ValueInfo)
            {
                if (Lookup(graph, scope, info.Name) is { } v)
                {
                    ApplyValueInfo(v, info, place);
                }
            }

            foreach (var output in proto.Output)
            {
                var value = Lookup(graph, scope, output.Name)
                    ?? throw Error(place, $"graph output '{output.Name}' is not defined by any node, input or initializer");
                if (value.Type is null || output.Type is not null)
                {
                    ApplyValueInfo(value, output, place);
                }

                graph.Outputs.Add(value);
            }
        }

        private readonly Dictionary<Graph, Dictionary<string, Value>> scopes = [];

        private Value? Lookup(Graph graph, Dictionary<string, Value> scope, string name)
        {
            if (scope.TryGetValue(name, out var v))
            {
                return v;
            }

            for (var g = graph.Parent; g is not null; g = g.Parent)
            {
                if (scopes.TryGetValue(g, out var outer) && outer.TryGetValue(name, out v))
                {
                    return v;
                }
            }

            return null;
        }

        private void FillNodes(Graph graph, IList<NodeProto> protos, Dictionary<string, Value> scope, string place)
        {
            scopes[graph] = scope;
            var nodes = new List<Node>(protos.Count);
            for (var i = 0; i < protos.Count; i++)
            {
                var p = protos[i];
                var node = new Node(p.Domain, p.OpType, [], [], null, p.Name)
                {
                    Overload = p.Overload,
                    DocString = p.DocString,
                };
                if (string.IsNullOrEmpty(p.OpType))
                {
                    throw Error(place, $"node #{i} '{p.Name}' has no op_type");
                }

                foreach (var outputName in p.Output)
                {
                    var output = node.AddOutput(outputName);
                    if (outputName.Length == 0)
                    {
                        continue;
                    }

                    if (scope.ContainsKey(outputName))
                    {
                        throw Error(place, $"node #{i} '{p.Name}' ({p.OpType}) redefines value '{outputName}'");
                    }

                    scope[outputName] = output;
                }

                Metadata(p.MetadataProps, node.MetadataProps);
                node.DeviceConfigurations.AddRange(p.DeviceConfigurations.Select(d => d.ToByteArray()));
                nodes.Add(node);
            }

            for (var i = 0; i < protos.Count; i++)
            {
                var p = protos[i];
                var node = nodes[i];
                var nodePlace = $"{place}, node #{i} '{p.Name}' ({p.OpType})";
                foreach (var inputName in p.Input)
                {
                    if (inputName.Length == 0)
                    {
                        node.AddInput(null);
                        continue;
                    }

                    node.AddInput(Lookup(graph, scope, inputName)
                        ?? throw Error(nodePlace, $"input '{inputName}' is not defined by any node, graph input or initializer"));
                }

                foreach (var attribute in p.Attribute)
                {
                    var converted = ToAttribute(attribute, graph, nodePlace, node);
                    node.Attributes[converted.Name] = converted;
                }
            }

            var order = Graph.TopologicalOrder(nodes);
            if (order is null)
            {
                var cyclic = FindCycleMember(nodes);
                throw Error(place, $"the graph has a cycle through node '{cyclic.Name}' ({cyclic.OpType})");
            }

            foreach (var node in order)
            {
                graph.Append(node);
            }
        }

        private static Node FindCycleMember(List<Node> nodes)
        {
            var sorted = Graph.TopologicalOrder(nodes) ?? [];
            var done = new HashSet<Node>(sorted);
            var remaining = nodes.Where(n => !done.Contains(n)).ToList();

            // Kahn leaves every node downstream of a cycle too: report one that is on it.
            var remainingSet = new HashSet<Node>(remaining);
            foreach (var start in remaining)
            {
                var seen = new HashSet<Node>();
                var stack = new Stack<Node>();
                stack.Push(start);
                while (stack.Count > 0)
                {
                    var n = stack.Pop();
                    foreach (var input in n.Inputs)
                    {
                        if (input?.Producer is { } p && remainingSet.Contains(p))
                        {
                            if (ReferenceEquals(p, start))
                            {
                                return start;
                            }

                            if (seen.Add(p))
                            {
                                stack.Push(p);
                            }
                        }
                    }
                }
            }

            return remaining[0];
        }

        private IrAttribute ToAttribute(AttributeProto p, Graph owner, string place, Node? node = null)
        {
            var attrPlace = $"{place}, attribute '{p.Name}'";
            var type = p.Type;
            if (type == AttributeProto.Types.AttributeType.Undefined)
            {
                // Older exporters omit the type: infer it from the field that is set.
                type = p.HasF ? AttributeProto.Types.AttributeType.Float
                    : p.HasI ? AttributeProto.Types.AttributeType.Int
                    : p.HasS ? AttributeProto.Types.AttributeType.String
                    : p.T is not null ? AttributeProto.Types.AttributeType.Tensor
                    : p.G is not null ? AttributeProto.Types.AttributeType.Graph
                    : p.Floats.Count > 0 ? AttributeProto.Types.AttributeType.Floats
                    : p.Ints.Count > 0 ? AttributeProto.Types.AttributeType.Ints
                    : p.Strings.Count > 0 ? AttributeProto.Types.AttributeType.Strings
                    : p.Tensors.Count > 0 ? AttributeProto.Types.AttributeType.Tensors
                    : p.Graphs.Count > 0 ? AttributeProto.Types.AttributeType.Graphs
                    : AttributeProto.Types.AttributeType.Undefined;
            }

            var attribute = new IrAttribute(p.Name, (IrAttributeType)(int)type) { RefAttrName = p.RefAttrName, DocString = p.DocString };
            if (p.HasRefAttrName)
            {
                return attribute;
            }

            return type switch
            {
                AttributeProto.Types.AttributeType.Float => attribute with { F = p.F },
                AttributeProto.Types.AttributeType.Int => attribute with { I = p.I },
                AttributeProto.Types.AttributeType.String => attribute with { S = p.S.ToByteArray() },
                AttributeProto.Types.AttributeType.Tensor => attribute with { T = ToTensor(p.T ?? throw Error(attrPlace, "tensor attribute without a tensor"), null, attrPlace) },
                AttributeProto.Types.AttributeType.Graph => attribute with { G = ToSubgraph(p.G ?? throw Error(attrPlace, "graph attribute without a graph"), owner, node, attrPlace) },
                AttributeProto.Types.AttributeType.Floats => attribute with { Floats = p.Floats.ToArray() },
                AttributeProto.Types.AttributeType.Ints => attribute with { Ints = p.Ints.ToArray() },
                AttributeProto.Types.AttributeType.Strings => attribute with { Strings = p.Strings.Select(s => s.ToByteArray()).ToArray() },
                AttributeProto.Types.AttributeType.Tensors => attribute with { Tensors = p.Tensors.Select(t => ToTensor(t, null, attrPlace)).ToArray() },
                AttributeProto.Types.AttributeType.Graphs => attribute with { Graphs = p.Graphs.Select(g => ToSubgraph(g, owner, node, attrPlace)).ToArray() },
                AttributeProto.Types.AttributeType.SparseTensor => attribute with { SparseTensors = [p.SparseTensor.ToByteArray()] },
                AttributeProto.Types.AttributeType.SparseTensors => attribute with { SparseTensors = p.SparseTensors.Select(s => s.ToByteArray()).ToArray() },
                AttributeProto.Types.AttributeType.TypeProto => attribute with { TypeInfos = [ToType(p.Tp, attrPlace)] },
                AttributeProto.Types.AttributeType.TypeProtos => attribute with { TypeInfos = p.TypeProtos.Select(t => ToType(t, attrPlace)).ToArray() },
                _ => throw Error(attrPlace, $"unknown attribute type {(int)p.Type}"),
            };
        }

        private Graph ToSubgraph(GraphProto proto, Graph parent, Node? owner, string place)
        {
            var graph = new Graph(proto.Name, parent) { OwnerNode = owner };
            FillGraph(graph, proto, $"{place}, subgraph '{proto.Name}'", isMain: false);
            return graph;
        }

        private void ApplyValueInfo(Value value, ValueInfoProto info, string place)
        {
            if (info.Type is not null && info.Type.ValueCase != TypeProto.ValueOneofCase.None)
            {
                value.Type = ToType(info.Type, $"{place}, value '{info.Name}'");
                value.ShapeUnconfirmed = value.Producer is not null && value.Type.Shape is not null;
            }

            value.DocString = info.DocString;
            Metadata(info.MetadataProps, value.MetadataProps);
        }

        private TypeInfo ToType(TypeProto proto, string place)
        {
            switch (proto.ValueCase)
            {
                case TypeProto.ValueOneofCase.TensorType:
                    return ToTensorType(TypeKind.Tensor, proto.TensorType.ElemType, proto.TensorType.Shape, proto.Denotation, place);
                case TypeProto.ValueOneofCase.SparseTensorType:
                    return ToTensorType(TypeKind.SparseTensor, proto.SparseTensorType.ElemType, proto.SparseTensorType.Shape, proto.Denotation, place);
                case TypeProto.ValueOneofCase.SequenceType:
                    return new TypeInfo { Kind = TypeKind.Sequence, Inner = proto.SequenceType.ElemType is null ? null : ToType(proto.SequenceType.ElemType, place), Denotation = proto.Denotation };
                case TypeProto.ValueOneofCase.OptionalType:
                    return new TypeInfo { Kind = TypeKind.Optional, Inner = proto.OptionalType.ElemType is null ? null : ToType(proto.OptionalType.ElemType, place), Denotation = proto.Denotation };
                case TypeProto.ValueOneofCase.MapType:
                    return new TypeInfo { Kind = TypeKind.Map, KeyType = (DataType)proto.MapType.KeyType, Inner = proto.MapType.ValueType is null ? null : ToType(proto.MapType.ValueType, place), Denotation = proto.Denotation };
                case TypeProto.ValueOneofCase.OpaqueType:
                    return new TypeInfo { Kind = TypeKind.Opaque, OpaqueDomain = proto.OpaqueType.Domain, OpaqueName = proto.OpaqueType.Name, Denotation = proto.Denotation };
                default:
                    throw Error(place, "type with no kind");
            }
        }

        private TypeInfo ToTensorType(TypeKind kind, int elemType, TensorShapeProto? shape, string denotation, string place)
        {
            if (elemType < 0 || elemType > (int)DataType.Int2)
            {
                throw Error(place, $"unknown element type {elemType}");
            }

            List<Dim>? dims = null;
            List<string>? denotations = null;
            if (shape is not null)
            {
                dims = new List<Dim>(shape.Dim.Count);
                foreach (var d in shape.Dim)
                {
                    dims.Add(d.ValueCase switch
                    {
                        TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => Dim.Of(d.DimValue),
                        TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam => Dim.Symbol(d.DimParam),
                        _ => Dim.Unknown,
                    });
                    if (d.HasDenotation)
                    {
                        denotations ??= Enumerable.Repeat("", dims.Count - 1).ToList();
                    }

                    denotations?.Add(d.Denotation);
                }
            }

            return new TypeInfo { Kind = kind, ElementType = (DataType)elemType, Shape = dims, Denotation = denotation, DimDenotations = denotations };
        }

        public Tensor ToTensor(TensorProto p, (long Offset, long Length)? raw, string place)
        {
            if (p.DataType < 0 || p.DataType > (int)DataType.Int2)
            {
                throw Error(place, $"unknown data type {p.DataType}");
            }

            var type = (DataType)p.DataType;
            var dims = p.Dims.ToArray();
            long count = 1;
            foreach (var d in dims)
            {
                if (d < 0)
                {
                    throw Error(place, $"negative dimension {d}");
                }

                if (d > 0 && count > (1L << 48) / d)
                {
                    throw Error(place, $"dimensions [{string.Join(",", dims)}] are beyond any real tensor");
                }

                count *= d;
            }

            var metadata = new Dictionary<string, string>();
            Metadata(p.MetadataProps, metadata);
            if (type == DataType.String)
            {
                if (p.StringData.Count != count)
                {
                    throw Error(place, $"declares {count} strings but holds {p.StringData.Count}");
                }

                return new Tensor(dims, p.StringData.Select(s => s.ToByteArray()).ToArray(), p.Name) { DocString = p.DocString, MetadataProps = metadata };
            }

            if (type == DataType.Undefined)
            {
                throw Error(place, "tensor has no data type");
            }

            TensorData data;
            if (p.DataLocation == TensorProto.Types.DataLocation.External)
            {
                data = ExternalData(p, place);
            }
            else if (raw is { } slice)
            {
                data = new MappedTensorData(modelFile!, slice.Offset, slice.Length, external: false);
            }
            else if (p.HasRawData)
            {
                data = TensorData.FromBytes(p.RawData.ToByteArray());
            }
            else
            {
                data = TypedFieldData(p, type, count, place);
            }

            var expected = type.ByteCount(count);
            if (data.Length != expected)
            {
                throw Error(place, $"declares {type.OnnxName()}[{string.Join(",", dims)}] ({expected} bytes) but holds {data.Length} bytes");
            }

            return new Tensor(type, dims, data, p.Name) { DocString = p.DocString, MetadataProps = metadata };
        }

        private TensorData ExternalData(TensorProto p, string place)
        {
            string? location = null;
            long offset = 0;
            long? length = null;
            foreach (var entry in p.ExternalData)
            {
                switch (entry.Key)
                {
                    case "location":
                        location = entry.Value;
                        break;
                    case "offset":
                        offset = long.TryParse(entry.Value, out var o) && o >= 0 ? o : throw Error(place, $"external data offset '{entry.Value}' is not a non-negative integer");
                        break;
                    case "length":
                        length = long.TryParse(entry.Value, out var l) && l >= 0 ? l : throw Error(place, $"external data length '{entry.Value}' is not a non-negative integer");
                        break;
                }
            }

            if (string.IsNullOrEmpty(location))
            {
                throw Error(place, "external data without a location");
            }

            if (Path.IsPathRooted(location) || location.Contains('\0', StringComparison.Ordinal))
            {
                throw Error(place, $"external data location '{location}' is absolute; it must be relative to the model's folder");
            }

            var root = Path.GetFullPath(folder);
            var full = Path.GetFullPath(Path.Combine(root, location));
            if (!full.StartsWith(root.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw Error(place, $"external data location '{location}' escapes the model's folder");
            }

            if (!File.Exists(full))
            {
                throw Error(place, $"external data file '{location}' not found");
            }

            // ONNX Runtime refuses data whose real path leaves the folder, so a link pointing out of it is refused too
            var realRoot = FilePaths.RealPath(root);
            full = FilePaths.RealPath(full);
            if (!FilePaths.IsUnder(full, realRoot))
            {
                throw Error(place, $"external data location '{location}' resolves through a symbolic link to '{full}', outside the model's folder");
            }

            if (FilePaths.KindOf(full) != FileKind.Regular)
            {
                throw Error(place, $"external data location '{location}' is not a regular file");
            }

            if (!externalFiles.TryGetValue(full, out var mapped))
            {
                mapped = new MappedFile(full);
                externalFiles[full] = mapped;
            }

            var size = length ?? (mapped.Length - offset);
            if (offset > mapped.Length || size > mapped.Length - offset)
            {
                throw Error(place, $"external data offset {offset} + length {size} is past the end of '{location}' ({mapped.Length} bytes)");
            }

            return new MappedTensorData(mapped, offset, size, external: true);
        }

        private TensorData TypedFieldData(TensorProto p, DataType type, long count, string place)
        {
            byte[] bytes;
            switch (type)
            {
                case DataType.Float:
                case DataType.Complex64:
                    bytes = MemoryMarshal.AsBytes(p.FloatData.ToArray().AsSpan()).ToArray();
                    break;
                case DataType.Double:
                case DataType.Complex128:
                    bytes = MemoryMarshal.AsBytes(p.DoubleData.ToArray().AsSpan()).ToArray();
                    break;
                case DataType.Int64:
                    bytes = MemoryMarshal.AsBytes(p.Int64Data.ToArray().AsSpan()).ToArray();
                    break;
                case DataType.UInt64:
                    bytes = MemoryMarshal.AsBytes(p.Uint64Data.ToArray().AsSpan()).ToArray();
                    break;
                case DataType.UInt32:
                    bytes = MemoryMarshal.AsBytes(p.Uint64Data.Select(v => (uint)v).ToArray().AsSpan()).ToArray();
                    break;
                case DataType.Int32:
                    bytes = MemoryMarshal.AsBytes(p.Int32Data.ToArray().AsSpan()).ToArray();
                    break;
                case DataType.Int16:
                case DataType.UInt16:
                case DataType.Float16:
                case DataType.BFloat16:
                    bytes = MemoryMarshal.AsBytes(p.Int32Data.Select(v => (ushort)v).ToArray().AsSpan()).ToArray();
                    break;
                case DataType.Int8:
                case DataType.UInt8:
                case DataType.Bool:
                case DataType.Float8E4M3FN:
                case DataType.Float8E4M3FNUZ:
                case DataType.Float8E5M2:
                case DataType.Float8E5M2FNUZ:
                case DataType.Float8E8M0:
                    bytes = p.Int32Data.Select(v => (byte)v).ToArray();
                    break;
                case DataType.Int4:
                case DataType.UInt4:
                case DataType.Float4E2M1:
                case DataType.Int2:
                case DataType.UInt2:
                    bytes = p.Int32Data.Select(v => (byte)v).ToArray();
                    break;
                default:
                    throw Error(place, $"cannot read {type} data");
            }

            _ = count;
            return TensorData.FromBytes(bytes);
        }

        private static void Metadata(IEnumerable<StringStringEntryProto> entries, Dictionary<string, string> target)
        {
            foreach (var e in entries)
            {
                target[e.Key] = e.Value;
            }
        }
    }
}
