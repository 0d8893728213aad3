using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Evaluation;

/// <summary>Output-shape rules shared by the evaluators and the shape inference (static dims).</summary>
public static class InferenceShapes
{
    public static long[]? Unsqueeze(long[] input, long[]? axes)
    {
        if (axes is null)
        {
            return null;
        }

        var rank = input.Length + axes.Length;
        var normalized = axes.Select(a => ShapeMath.Axis(a, rank)).ToHashSet();
        if (normalized.Count != axes.Length)
        {
            return null;
        }

        var result = new long[rank];
        var k = 0;
        for (var i = 0; i < rank; i++)
        {
            result[i] = normalized.Contains(i) ? 1 : input[k++];
        }

        return result;
    }

    /// <summary>Squeeze: the given axes (which must be 1), or every 1 when <paramref name="axes"/> is null.</summary>
    public static long[]? Squeeze(long[] input, long[]? axes)
    {
        if (axes is null)
        {
            return input.Where(d => d != 1).ToArray();
        }

        var normalized = axes.Select(a => ShapeMath.Axis(a, input.Length)).ToHashSet();
        if (normalized.Any(a => input[a] != 1))
        {
            return null;
        }

        return input.Where((d, i) => !normalized.Contains(i)).ToArray();
    }

    /// <summary>Split output sizes: explicit sizes (attribute or input by opset), num_outputs (18+) or equal parts.</summary>
    public static long[]? SplitSizes(Node node, long opset, long axisSize, Func<int, long[]?> constant)
    {
        var sizes = OpArguments.SplitSizes(node, opset, constant);
        if (sizes.Present)
        {
            return sizes.Values;
        }

        var parts = opset >= 18 && node.Attributes.ContainsKey("num_outputs") ? node.GetInt("num_outputs", 1) : node.Outputs.Count;
        if (parts <= 0)
        {
            return null;
        }

        var chunk = (axisSize + parts - 1) / parts;
        var result = new long[parts];
        for (var i = 0; i < parts; i++)
        {
            result[i] = Math.Max(0, Math.Min(chunk, axisSize - (i * chunk)));
        }

        return result;
    }
}
