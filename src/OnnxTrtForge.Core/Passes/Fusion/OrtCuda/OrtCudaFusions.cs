using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes.Fusion.OrtCuda;

/// <summary>
/// What the ort-cuda fusions share: their order, the contrib-op domain and its opset import, and the
/// match / no-match tally every fusion reports (like the rewrite rules' counters).
/// </summary>
public static class OrtCudaFusions
{
    /// <summary>The domain of ONNX Runtime's contrib ops.</summary>
    public const string Domain = "com.microsoft";

    /// <summary>The fusion passes of the ort-cuda target, in the order they run.</summary>
    public static IReadOnlyList<string> Passes { get; } = ["fuse-attention", "fuse-layer-norm", "fuse-bias-split-gelu", "fuse-group-norm", "fuse-nhwc-conv", "cancel-transposes", "fuse-skip-group-norm"];

    /// <summary>Adds the <c>com.microsoft</c> opset import (version 1) when a fusion emitted a contrib op.</summary>
    public static void ImportDomain(Model model) => model.OpsetImports.TryAdd(Domain, 1);

    /// <summary>
    /// Makes every reader of <paramref name="old"/> read <paramref name="replacement"/>; when <paramref name="old"/>
    /// is a graph output, the replacement takes over its name, so the model's signature stays.
    /// </summary>
    internal static void Replace(Graph graph, Value old, Value replacement)
    {
        if (graph.Outputs.Contains(old))
        {
            var name = old.Name;
            old.Name = graph.Names.Fresh(name);
            replacement.Name = name;
        }

        old.ReplaceAllUsesWith(replacement, graph);
    }

    /// <summary>True for a node of ONNX Runtime's contrib domain with this op type.</summary>
    public static bool IsContrib(Node node, string opType) => node.Domain == Domain && node.OpType == opType;
}

/// <summary>Counts fused patterns and the reasons candidates did not match; becomes the pass result.</summary>
internal sealed class FusionTally(string fusedCounter)
{
    private readonly SortedDictionary<string, long> counters = new(StringComparer.Ordinal);

    public long Fused { get; private set; }

    public void Matched()
    {
        Fused++;
        Count(fusedCounter);
    }

    public void Rejected(string reason) => Count($"no match: {reason}");

    public PassResult Result(Model model)
    {
        if (Fused > 0)
        {
            OrtCudaFusions.ImportDomain(model);
        }

        counters.TryAdd(fusedCounter, 0);
        var notes = Fused == 0 && counters.Count > 1 ? new[] { $"nothing fused into {fusedCounter}: {string.Join("; ", counters.Keys.Where(k => k != fusedCounter))}" } : [];
        return new PassResult(Fused > 0) { Counters = counters, Notes = notes };
    }

    private void Count(string key) => counters[key] = counters.GetValueOrDefault(key) + 1;
}
