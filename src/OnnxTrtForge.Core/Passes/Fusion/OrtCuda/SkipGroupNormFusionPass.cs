using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes.Fusion.OrtCuda;

/// <summary>
/// Takes the residual (or time-embedding) Add that feeds a channels-last <c>GroupNorm</c> into
/// com.microsoft <c>SkipGroupNorm</c> (CUDA only): <c>GroupNorm(Add(x, skip))</c> with x [N,H,W,C] and skip
/// [N,H,W,C] or [N,1,1,C] becomes <c>SkipGroupNorm(x, γ, β, skip)</c>, whose second output (x + skip)
/// serves the Add's other readers. Runs after <see cref="TransposeOptimizationPass"/>, when the NHWC
/// GroupNorms read the Adds directly.
/// </summary>
public sealed class SkipGroupNormFusionPass : IGraphPass
{
    public string Name => "fuse-skip-group-norm";

    public PassResult Run(Model model)
    {
        var graph = model.Graph;
        if (GraphEdits.HasOuterSubgraphOutputs(graph))
        {
            return GraphEdits.SkippedForSubgraphs;
        }

        var tally = new FusionTally("skip-group-norms");
        foreach (var norm in graph.Nodes.Where(n => OrtCudaFusions.IsContrib(n, "GroupNorm")).ToList())
        {
            var reason = TryFuse(graph, norm);
            if (reason is null)
            {
                tally.Matched();
            }
            else
            {
                tally.Rejected(reason);
            }
        }

        return tally.Result(model);
    }

    private static string? TryFuse(Graph graph, Node norm)
    {
        var input = norm.Input(0)!;
        if (norm.GetInt("channels_last", 1) != 1 || input.Producer is not { } add || !add.Is("Add") || GraphEdits.StaticDims(input) is not { Length: 4 } dims)
        {
            return "GroupNorm does not read an Add of channels-last tensors";
        }

        Value? x = null, skip = null;
        foreach (var (a, b) in new[] { (add.Input(0), add.Input(1)), (add.Input(1), add.Input(0)) })
        {
            if (GraphEdits.StaticDims(a) is { } ad && ad.SequenceEqual(dims) && GraphEdits.StaticDims(b) is { } bd
                && (bd.SequenceEqual(dims) || bd.SequenceEqual([dims[0], 1, 1, dims[3]])) && a!.Type?.ElementType == b!.Type?.ElementType)
            {
                (x, skip) = (a, b);
                break;
            }
        }

        if (x is null || skip is null)
        {
            return "the Add's operands are not [N,H,W,C] and [N,H,W,C] or [N,1,1,C]";
        }

        var others = input.Uses.Any(u => !ReferenceEquals(u.Node, norm)) || graph.Outputs.Contains(input);
        string[] names = others ? [graph.Names.Fresh("SkipGroupNorm_out"), graph.Names.Fresh("SkipGroupNorm_sum")] : [graph.Names.Fresh("SkipGroupNorm_out")];
        var fused = new Node(OrtCudaFusions.Domain, "SkipGroupNorm", [x, norm.Input(1), norm.Input(2), skip], names, norm.Attributes.Values, graph.Names.Fresh("SkipGroupNorm"));
        graph.InsertBefore(add, fused);
        fused.Outputs[0].Type = norm.Outputs[0].Type;
        OrtCudaFusions.Replace(graph, norm.Outputs[0], fused.Outputs[0]);
        if (others)
        {
            fused.Outputs[1].Type = input.Type;
            foreach (var use in input.Uses.ToArray())
            {
                if (!ReferenceEquals(use.Node, norm))
                {
                    use.Node.SetInput(use.Index, fused.Outputs[1]);
                }
            }

            if (graph.Outputs.Contains(input))
            {
                OrtCudaFusions.Replace(graph, input, fused.Outputs[1]);
            }
        }

        graph.Remove(norm);
        GraphEdits.RemoveIfDead(graph, add);
        return null;
    }
}
