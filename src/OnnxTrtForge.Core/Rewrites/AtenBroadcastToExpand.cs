using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;

namespace OnnxTrtForge.Core.Rewrites;

/// <summary>
/// <c>ATen(operator="broadcast_to")(x, size)</c> (PyTorch's ONNX_ATEN_FALLBACK, domain
/// <c>org.pytorch.aten</c>) → <c>Expand(x, shape)</c> with an int64 shape. A size entry of -1 keeps
/// that dimension, which is what Expand does with 1, so -1 becomes 1 (as PyTorch's own symbolic does):
/// in the tensor itself when the size is constant, else through <c>Where(Equal(size, -1), 1, size)</c>.
/// </summary>
public sealed class AtenBroadcastToExpand : IRewriteRule
{
    public const string AtenDomain = "org.pytorch.aten";

    public string Name => "aten-broadcast-to-expand";

    public IReadOnlyList<OpKey> TargetOpTypes { get; } = [new(AtenDomain, "ATen")];

    public MatchResult Match(Node node)
    {
        if (node.Domain != AtenDomain || node.OpType != "ATen")
        {
            return MatchResult.Fail($"not an {AtenDomain} ATen node");
        }

        var op = node.GetString("operator", "");
        if (op != "broadcast_to")
        {
            return MatchResult.Fail($"operator '{op}' is not broadcast_to");
        }

        if (node.Inputs.Count != 2 || node.Input(0) is null || node.Input(1) is null || node.Outputs.Count != 1)
        {
            return MatchResult.Fail($"broadcast_to with {node.Inputs.Count} inputs and {node.Outputs.Count} outputs (expected 2 and 1)");
        }

        var size = node.Input(1)!;
        var type = ConstantOf(size)?.Type ?? size.Type?.ElementType ?? DataType.Undefined;
        if (type is not (DataType.Undefined or DataType.Int64 or DataType.Int32 or DataType.Int16 or DataType.Int8 or DataType.UInt8 or DataType.UInt16 or DataType.UInt32))
        {
            return MatchResult.Fail($"size input '{size.Name}' is {type.OnnxName()}, not an integer tensor");
        }

        if (size.Type?.Shape is { Count: not 1 } shape)
        {
            return MatchResult.Fail($"size input '{size.Name}' has rank {shape.Count}, expected 1");
        }

        return MatchResult.Matched;
    }

    public void Rewrite(Node node, Graph graph)
    {
        var input = node.Input(0)!;
        var size = node.Input(1)!;
        Value shape;
        if (ConstantOf(size) is { } constant)
        {
            var dims = constant.ToInt64Array().Select(d => d == -1 ? 1 : d).ToArray();
            shape = graph.AddInitializer(Tensor.FromInt64s([dims.Length], dims), size.Name + "_expand_shape");
        }
        else
        {
            var sizeType = size.Type?.ElementType ?? DataType.Undefined;
            var size64 = size;
            if (sizeType is not (DataType.Int64 or DataType.Undefined))
            {
                size64 = graph.Create("Cast", [size], attributes: [Ir.Attribute.Int("to", (long)DataType.Int64)], anchor: node, nameHint: node.Name + "_size_cast").Outputs[0];
                size64.Type = TypeInfo.OfTensor(DataType.Int64, size.Type?.Shape);
            }

            var minusOne = graph.AddInitializer(Tensor.Scalar(-1), node.Name + "_minus_one");
            var one = graph.AddInitializer(Tensor.Scalar(1), node.Name + "_one");
            var keep = graph.Create("Equal", [size64, minusOne], anchor: node, nameHint: node.Name + "_keep_dim").Outputs[0];
            keep.Type = TypeInfo.OfTensor(DataType.Bool, size.Type?.Shape);
            shape = graph.Create("Where", [keep, one, size64], anchor: node, nameHint: node.Name + "_expand_shape").Outputs[0];
            shape.Type = TypeInfo.OfTensor(DataType.Int64, size.Type?.Shape);
        }

        var expand = graph.Create("Expand", [input, shape], anchor: node, nameHint: string.IsNullOrEmpty(node.Name) ? "Expand" : node.Name + "_expand");
        var old = node.Outputs[0];
        var result = expand.Outputs[0];
        var name = old.Name;
        old.Name = graph.Names.Fresh(name + "_aten");
        result.Name = name;
        result.Type = old.Type;
        old.ReplaceAllUsesWith(result, graph);
        foreach (var sub in GraphScope.All(graph).Skip(1))
        {
            sub.ReplaceOutput(old, result);
        }

        graph.Remove(node);
    }

    /// <summary>The payload of a value fixed at export time: a non-overridable initializer or a Constant node's output.</summary>
    private static Tensor? ConstantOf(Value value)
    {
        if (value.Initializer is { } t && !value.IsGraphInput)
        {
            return t;
        }

        return value.Producer is { } p && p.Is("Constant") ? ConstantLiftingPass.ToTensor(p) : null;
    }
}
