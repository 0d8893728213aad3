using System.Globalization;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.TensorRt;

/// <summary>
/// Checks shape profiles against a model's graph inputs as the IR reads them (fixed sizes and <c>dim_param</c>
/// names), before trtexec is called: every profile names an input, has its rank, keeps its fixed dims and
/// orders min ≤ opt ≤ max; every dynamic input has a profile; dims that share a name (the batch of the latents
/// and of the text embeddings) get the same range in every profile that holds them. A failure is one
/// <see cref="ForgeInputException"/> line naming the input and the dimension.
/// </summary>
public static class ProfileCheck
{
    public static void Against(Model model, IReadOnlyList<ShapeProfile> profiles, string onnxPath)
    {
        var inputs = model.Graph.Inputs.Where(v => !v.IsInitializer).ToList();
        var byName = inputs.ToDictionary(v => v.Name, StringComparer.Ordinal);
        var named = new Dictionary<string, (ShapeProfile Profile, int Dim)>(StringComparer.Ordinal);
        foreach (var p in profiles)
        {
            if (!byName.TryGetValue(p.Name, out var input))
            {
                throw new ForgeInputException($"--shape {p.Name}: {onnxPath} has no input named '{p.Name}' (inputs: {string.Join(", ", byName.Keys)})");
            }

            if (p.Min.Count != p.Opt.Count || p.Opt.Count != p.Max.Count)
            {
                throw new ForgeInputException($"--shape {p}: min, opt and max must have the same rank");
            }

            var shape = input.Type?.Shape;
            if (shape is not null && shape.Count != p.Min.Count)
            {
                throw new ForgeInputException($"--shape {p}: input '{p.Name}' of {onnxPath} has rank {shape.Count} ({Describe(shape)}), the profile rank {p.Min.Count}");
            }

            for (var i = 0; i < p.Min.Count; i++)
            {
                var dim = shape?[i] ?? Dim.Unknown;
                var label = Label(i, dim);
                if (p.Min[i] < 0)
                {
                    throw new ForgeInputException($"--shape {p}: {label} of input '{p.Name}' has a negative min {p.Min[i]}");
                }

                if (p.Min[i] > p.Opt[i] || p.Opt[i] > p.Max[i])
                {
                    throw new ForgeInputException($"--shape {p}: {label} of input '{p.Name}' must satisfy min <= opt <= max (got {Range(p, i)})");
                }

                if (dim.Value is { } size && (p.Min[i] != size || p.Max[i] != size))
                {
                    throw new ForgeInputException($"--shape {p}: {label} of input '{p.Name}' is fixed at {size.ToString(CultureInfo.InvariantCulture)} in {onnxPath} ({Describe(shape!)}); the profile asks {Range(p, i)}");
                }

                if (dim is { Value: null, Expr: null, Param: { Length: > 0 } symbol })
                {
                    if (named.TryGetValue(symbol, out var first) && (first.Profile.Min[first.Dim], first.Profile.Opt[first.Dim], first.Profile.Max[first.Dim]) != (p.Min[i], p.Opt[i], p.Max[i]))
                    {
                        throw new ForgeInputException(
                            $"--shape {p}: {label} of input '{p.Name}' is the same dimension '{symbol}' as dimension {first.Dim} of input '{first.Profile.Name}', " +
                            $"which the profiles give {Range(first.Profile, first.Dim)}; here {Range(p, i)}");
                    }

                    named.TryAdd(symbol, (p, i));
                }
            }
        }

        var profiled = profiles.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var input in inputs.Where(v => !profiled.Contains(v.Name)))
        {
            var shape = input.Type?.Shape;
            if (shape is null)
            {
                throw new ForgeInputException($"{onnxPath}: input '{input.Name}' has no known rank and no shape profile; give --shape {input.Name}:MIN:OPT:MAX");
            }

            var dynamic = shape.Select((d, i) => (Dim: d, Index: i)).Where(x => !x.Dim.IsKnown).ToList();
            if (dynamic.Count > 0)
            {
                throw new ForgeInputException(
                    $"{onnxPath}: input '{input.Name}' ({Describe(shape)}) has dynamic {string.Join(", ", dynamic.Select(x => Label(x.Index, x.Dim)))} " +
                    $"and no shape profile; give --shape {input.Name}:MIN:OPT:MAX (TensorRT would silently build it for size 1)");
            }
        }
    }

    private static string Label(int index, Dim dim) =>
        "dimension " + index.ToString(CultureInfo.InvariantCulture) + (dim.IsKnown || dim.Param is not { Length: > 0 } name ? "" : $" ('{name}')");

    private static string Range(ShapeProfile p, int i) =>
        string.Create(CultureInfo.InvariantCulture, $"min {p.Min[i]}, opt {p.Opt[i]}, max {p.Max[i]}");

    private static string Describe(IReadOnlyList<Dim> shape) => "[" + string.Join(", ", shape) + "]";
}
