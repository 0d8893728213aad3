using Google.Protobuf;
using OnnxTrtForge.Core.Serialization.Proto;

namespace OnnxTrtForge.Fuzz;

/// <summary>Seeded mutations of an ONNX model: protobuf-aware edits (fields, dims, types, wiring, value_info, constants, opsets) or raw byte flips.</summary>
internal static class Mutator
{
    public static readonly string[] Kinds =
        ["delete-input", "dim", "elem-type", "rewire", "value-info", "extreme-constant", "float-constant", "opset", "drop-node", "attribute", "byte-flip"];

    public static (byte[] Bytes, string Description) Mutate(byte[] original, Random random)
    {
        var kind = Kinds[random.Next(Kinds.Length)];
        if (kind == "byte-flip")
        {
            var bytes = (byte[])original.Clone();
            var flips = 1 + random.Next(4);
            for (var i = 0; i < flips; i++)
            {
                bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
            }

            return (bytes, $"byte-flip x{flips}");
        }

        var model = ModelProto.Parser.ParseFrom(original);
        var g = model.Graph;
        var node = g.Node.Count > 0 ? g.Node[random.Next(g.Node.Count)] : null;
        string what;
        switch (kind)
        {
            case "delete-input" when node is not null && node.Input.Count > 0:
                var index = random.Next(node.Input.Count);
                what = $"node '{node.Name}' input {index} ('{node.Input[index]}') removed";
                node.Input.RemoveAt(index);
                break;
            case "dim":
                var infos = g.Input.Concat(g.Output).Concat(g.ValueInfo).Where(v => v.Type?.TensorType?.Shape?.Dim.Count > 0).ToList();
                if (infos.Count == 0)
                {
                    goto default;
                }

                var info = infos[random.Next(infos.Count)];
                var dims = info.Type.TensorType.Shape.Dim;
                var d = random.Next(dims.Count);
                long[] choices = [0, -1, 1, 3, 1L << 40, long.MaxValue];
                dims[d].DimValue = choices[random.Next(choices.Length)];
                what = $"'{info.Name}' dim {d} = {dims[d].DimValue}";
                break;
            case "elem-type":
                var typed = g.Input.Concat(g.ValueInfo).Concat(g.Output).Where(v => v.Type?.TensorType is not null).ToList();
                int[] types = [0, 1, 2, 6, 7, 9, 10, 11, 12, 13, 16, 99];
                if (typed.Count > 0 && random.Next(2) == 0)
                {
                    var v = typed[random.Next(typed.Count)];
                    v.Type.TensorType.ElemType = types[random.Next(types.Length)];
                    what = $"'{v.Name}' elem_type = {v.Type.TensorType.ElemType}";
                }
                else if (g.Initializer.Count > 0)
                {
                    var t = g.Initializer[random.Next(g.Initializer.Count)];
                    t.DataType = types[random.Next(types.Length)];
                    what = $"initializer '{t.Name}' data_type = {t.DataType}";
                }
                else
                {
                    goto default;
                }

                break;
            case "rewire" when node is not null && node.Input.Count > 0:
                var names = g.Node.SelectMany(n => n.Output).Concat(g.Input.Select(i => i.Name)).Concat(g.Initializer.Select(i => i.Name)).ToList();
                var slot = random.Next(node.Input.Count);
                node.Input[slot] = names[random.Next(names.Count)];
                what = $"node '{node.Name}' input {slot} rewired to '{node.Input[slot]}'";
                break;
            case "value-info" when node is not null && node.Output.Count > 0:
                // mostly the value's own element type, so the stale shape (not a type ORT refuses at once) is what is tested
                var elemType = random.Next(4) == 0 ? 1 : LikelyElemType(g, node);
                var stale = new ValueInfoProto { Name = node.Output[0], Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elemType, Shape = new TensorShapeProto() } } };
                var rank = random.Next(5);
                for (var i = 0; i < rank; i++)
                {
                    stale.Type.TensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = 1 + random.Next(7) });
                }

                g.ValueInfo.Add(stale);
                what = $"stale value_info for '{stale.Name}' (rank {rank})";
                break;
            case "extreme-constant":
                var ints = g.Initializer.Where(t => t.DataType == 7 && (t.RawData.Length >= 8 || t.Int64Data.Count > 0)).ToList();
                if (ints.Count == 0)
                {
                    goto default;
                }

                var c = ints[random.Next(ints.Count)];
                long[] extremes = [long.MinValue, long.MaxValue, -1, 0, 1L << 62];
                var value = extremes[random.Next(extremes.Length)];
                if (c.RawData.Length >= 8)
                {
                    var raw = c.RawData.ToByteArray();
                    BitConverter.TryWriteBytes(raw.AsSpan(8 * random.Next(raw.Length / 8)), value);
                    c.RawData = ByteString.CopyFrom(raw);
                }
                else
                {
                    c.Int64Data[random.Next(c.Int64Data.Count)] = value;
                }

                what = $"initializer '{c.Name}' element = {value}";
                break;
            case "float-constant":
                // a valid model with NaN, infinities, fp16's extremes or huge values in its weights: folding and
                // the passes must carry them as ONNX Runtime computes them
                var floats = g.Initializer.Where(t => t.DataType is 1 or 10 && t.RawData.Length >= 4).ToList();
                if (floats.Count == 0)
                {
                    goto default;
                }

                var f = floats[random.Next(floats.Count)];
                float[] specials = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 65504f, -65504f, 1e30f, -0f, 0f];
                var special = specials[random.Next(specials.Length)];
                var payload = f.RawData.ToByteArray();
                var width = f.DataType == 1 ? 4 : 2;
                var changed = 1 + random.Next(Math.Min(8, payload.Length / width));
                for (var i = 0; i < changed; i++)
                {
                    var at = width * random.Next(payload.Length / width);
                    if (width == 4)
                    {
                        BitConverter.TryWriteBytes(payload.AsSpan(at), special);
                    }
                    else
                    {
                        BitConverter.TryWriteBytes(payload.AsSpan(at), (Half)special);
                    }
                }

                f.RawData = ByteString.CopyFrom(payload);
                what = $"initializer '{f.Name}' {changed} element(s) = {special}";
                break;
            case "opset":
                var def = model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx");
                if (def is null || random.Next(3) == 0)
                {
                    model.OpsetImport.Clear();
                    what = "opset_import cleared";
                }
                else
                {
                    long[] versions = [1, 7, 99, 0];
                    def.Version = versions[random.Next(versions.Length)];
                    what = $"default opset = {def.Version}";
                }

                break;
            case "drop-node" when node is not null:
                g.Node.Remove(node);
                what = $"node '{node.Name}' ({node.OpType}) removed";
                break;
            case "attribute" when node is not null && node.Attribute.Count > 0:
                var a = node.Attribute[random.Next(node.Attribute.Count)];
                a.I = new long[] { 0, -1, long.MaxValue }[random.Next(3)];
                if (a.Ints.Count > 0)
                {
                    a.Ints[random.Next(a.Ints.Count)] = a.I;
                }

                what = $"node '{node.Name}' attribute {a.Name} -> {a.I}";
                break;
            default:
                return Mutate(original, random);
        }

        return (model.ToByteArray(), $"{kind}: {what}");
    }

    /// <summary>The element type a node's first output most likely has: declared, int64 for shape ops, else the first graph input's.</summary>
    private static int LikelyElemType(GraphProto g, NodeProto node)
    {
        var declared = g.ValueInfo.Concat(g.Output).FirstOrDefault(v => v.Name == node.Output[0])?.Type?.TensorType?.ElemType;
        return declared is > 0 ? declared.Value
            : node.OpType is "Shape" or "Size" or "NonZero" or "ArgMax" or "ArgMin" ? 7
            : node.OpType is "Equal" or "Less" or "Greater" or "Not" or "And" or "Or" ? 9
            : g.Input.FirstOrDefault()?.Type?.TensorType?.ElemType ?? 1;
    }
}
