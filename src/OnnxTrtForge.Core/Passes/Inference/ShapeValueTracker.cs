using OnnxTrtForge.Core.Evaluation;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes.Inference;

/// <summary>
/// Partial values of small int64 shape tensors (ONNX's "data propagation"): Shape of a tensor whose
/// dims are partly known, and the Gather/Slice/Unsqueeze/Squeeze/Concat/arithmetic the exporters apply
/// to it. When every element of a result is known the value is a constant even though the tensor it
/// measures has a dynamic (symbolic) dimension elsewhere — e.g. the channel count of a dynamic-batch input.
/// </summary>
internal sealed class ShapeValueTracker
{
    /// <summary>Elements (null: unknown) and whether the value is a scalar rather than a 1-D tensor.</summary>
    public sealed record Partial(long?[] Elements, bool Scalar)
    {
        public bool Complete => Elements.All(e => e is not null);

        public HostTensor ToHost() => HostTensor.Integer(DataType.Int64, Scalar ? [] : [Elements.Length], Elements.Select(e => e!.Value).ToArray());
    }

    private const int MaxElements = 64;
    private readonly Dictionary<Value, Partial> known = [];

    public Partial? Get(Value? value)
    {
        if (value is null)
        {
            return null;
        }

        if (known.TryGetValue(value, out var p))
        {
            return p;
        }

        if (value.Initializer is { } t && !value.IsGraphInput && t.Type == DataType.Int64 && t.Dims.Length <= 1 && t.ElementCount <= MaxElements)
        {
            return new Partial(t.ToInt64Array().Select(v => (long?)v).ToArray(), t.Dims.Length == 0);
        }

        return null;
    }

    /// <summary>Computes the node's partial output (int64 shape math only); null when nothing is known.</summary>
    public Partial? Propagate(Node node, long opset)
    {
        if (!node.IsOnnxDomain || node.Outputs.Count != 1)
        {
            return null;
        }

        Partial? result = null;
        try
        {
            result = node.OpType switch
            {
                "Shape" => ShapeOf(node, opset),
                "Gather" => Gather(node),
                "Unsqueeze" when Get(node.Input(0)) is { Scalar: true } s => new Partial(s.Elements, false),
                "Squeeze" when Get(node.Input(0)) is { Scalar: false, Elements.Length: 1 } s => new Partial(s.Elements, true),
                "Identity" => Get(node.Input(0)),
                "Cast" when (DataType)node.GetInt("to", 0) == DataType.Int64 => Get(node.Input(0)),
                "Concat" => Concat(node),
                "Slice" => Slice(node, opset),
                "Add" or "Sub" or "Mul" or "Div" => Arithmetic(node),
                _ => null,
            };
        }
        catch (ArgumentException)
        {
            result = null;
        }

        if (result is null || result.Elements.Length > MaxElements || result.Elements.All(e => e is null))
        {
            return null;
        }

        known[node.Outputs[0]] = result;
        return result;
    }

    private static Partial? ShapeOf(Node node, long opset)
    {
        if (node.Input(0)?.Type?.Shape is not { } shape)
        {
            return null;
        }

        var rank = shape.Count;
        var start = opset >= 15 ? node.GetInt("start", 0) : 0;
        var end = opset >= 15 ? node.GetInt("end", rank) : rank;
        start = Math.Clamp(start < 0 ? start + rank : start, 0, rank);
        end = Math.Clamp(end < 0 ? end + rank : end, 0, rank);
        return new Partial(shape.Skip((int)start).Take((int)Math.Max(0, end - start)).Select(d => d.Value).ToArray(), false);
    }

    private Partial? Gather(Node node)
    {
        if (Get(node.Input(0)) is not { Scalar: false } data || node.GetInt("axis", 0) is not (0 or -1) || Get(node.Input(1)) is not { Complete: true } indices)
        {
            return null;
        }

        var n = data.Elements.Length;
        var picked = indices.Elements.Select(i => i!.Value < 0 ? i.Value + n : i.Value).Select(i => i >= 0 && i < n ? data.Elements[i] : throw new ArgumentException("index out of range")).ToArray();
        return new Partial(picked, indices.Scalar);
    }

    private Partial? Concat(Node node)
    {
        var parts = node.Inputs.Select(Get).ToList();
        if (parts.Any(p => p is null || p.Scalar))
        {
            return null;
        }

        return new Partial(parts.SelectMany(p => p!.Elements).ToArray(), false);
    }

    private Partial? Slice(Node node, long opset)
    {
        if (Get(node.Input(0)) is not { Scalar: false } data
            || OpArguments.SliceBounds(node, opset, i => Get(node.Input(i)) is { Complete: true } p ? p.Elements.Select(e => e!.Value).ToArray() : null) is not { } b
            || b.Starts.Length != 1 || (b.Axes?[0] ?? 0) is not (0 or -1))
        {
            return null;
        }

        var range = ShapeMath.SliceRange(data.Elements.Length, b.Starts[0], b.Ends[0], b.Steps?[0] ?? 1);
        return new Partial(Enumerable.Range(0, (int)range.Count).Select(k => data.Elements[range.Start + (k * range.Step)]).ToArray(), false);
    }

    private Partial? Arithmetic(Node node)
    {
        if (Get(node.Input(0)) is not { } a || Get(node.Input(1)) is not { } b)
        {
            return null;
        }

        var n = Math.Max(a.Elements.Length, b.Elements.Length);
        if ((a.Elements.Length != n && a.Elements.Length != 1) || (b.Elements.Length != n && b.Elements.Length != 1))
        {
            return null;
        }

        var result = new long?[n];
        for (var i = 0; i < n; i++)
        {
            var x = a.Elements[a.Elements.Length == 1 ? 0 : i];
            var y = b.Elements[b.Elements.Length == 1 ? 0 : i];
            result[i] = x is null || y is null ? null : node.OpType switch
            {
                "Add" => x + y,
                "Sub" => x - y,
                "Mul" => x * y,
                _ => y == 0 ? null : x / y,
            };
        }

        return new Partial(result, a.Scalar && b.Scalar);
    }
}
