using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Evaluation;

/// <summary>
/// Reads the arguments that moved from attributes to inputs across opsets (axes of Unsqueeze,
/// Squeeze, Reduce*, Split sizes, Slice bounds), so evaluation and inference read them one way.
/// <c>constant(i)</c> returns the integer elements of input i when they are known, else null.
/// </summary>
public static class OpArguments
{
    /// <summary>Outcome of reading an optional argument: absent, known values, or present but not constant.</summary>
    public readonly record struct Ints(bool Present, long[]? Values)
    {
        public bool Known => !Present || Values is not null;
    }

    public static Ints FromInputOrAttribute(Node node, long opset, int inputIndex, string attribute, long firstInputOpset, Func<int, long[]?> constant)
    {
        if (opset >= firstInputOpset)
        {
            var present = node.Input(inputIndex) is not null;
            return new Ints(present, present ? constant(inputIndex) : null);
        }

        var attr = node.GetInts(attribute);
        return new Ints(attr is not null, attr?.ToArray());
    }

    /// <summary>Unsqueeze/Squeeze axes: an attribute up to opset 12, input 1 from 13.</summary>
    public static Ints SqueezeAxes(Node node, long opset, Func<int, long[]?> constant) =>
        FromInputOrAttribute(node, opset, 1, "axes", 13, constant);

    /// <summary>Reduce* axes: input 1 from opset 13 for ReduceSum, from 18 for the others.</summary>
    public static Ints ReduceAxes(Node node, long opset, Func<int, long[]?> constant) =>
        FromInputOrAttribute(node, opset, 1, "axes", node.OpType == "ReduceSum" ? 13 : 18, constant);

    /// <summary>Split sizes: an attribute up to opset 12, input 1 from 13.</summary>
    public static Ints SplitSizes(Node node, long opset, Func<int, long[]?> constant) =>
        FromInputOrAttribute(node, opset, 1, "split", 13, constant);

    /// <summary>Slice (starts, ends, axes, steps); attributes before opset 10. Null when not all known.</summary>
    public static (long[] Starts, long[] Ends, long[]? Axes, long[]? Steps)? SliceBounds(Node node, long opset, Func<int, long[]?> constant)
    {
        if (opset < 10)
        {
            var s = node.GetInts("starts");
            var e = node.GetInts("ends");
            return s is null || e is null ? null : (s.ToArray(), e.ToArray(), node.GetInts("axes")?.ToArray(), null);
        }

        var starts = constant(1);
        var ends = constant(2);
        var axes = node.Input(3) is null ? null : constant(3);
        var steps = node.Input(4) is null ? null : constant(4);
        if (starts is null || ends is null || (node.Input(3) is not null && axes is null) || (node.Input(4) is not null && steps is null))
        {
            return null;
        }

        return (starts, ends, axes, steps);
    }

    /// <summary>Applies Slice bounds to a static shape: per output axis the (start, step) and the output dims.</summary>
    public static (long[] Dims, long[] Starts, long[] Steps) ResolveSlice(long[] input, long[] starts, long[] ends, long[]? axes, long[]? steps)
    {
        var dims = (long[])input.Clone();
        var begin = new long[input.Length];
        var stride = Enumerable.Repeat(1L, input.Length).ToArray();
        for (var i = 0; i < starts.Length; i++)
        {
            var axis = ShapeMath.Axis(axes?[i] ?? i, input.Length);
            var range = ShapeMath.SliceRange(input[axis], starts[i], ends[i], steps?[i] ?? 1);
            dims[axis] = range.Count;
            begin[axis] = range.Start;
            stride[axis] = range.Step;
        }

        return (dims, begin, stride);
    }
}
