using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes.Inference;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// Absorbs a Transpose that feeds an Einsum operand into the equation: the operand becomes the
/// Transpose's input and its subscripts are permuted back (for T = X.transpose(perm), X's axis perm[j]
/// carries T's subscript j). The same products are summed, so the result is unchanged. A Transpose that
/// only reorders the Einsum's output is absorbed into the output subscripts likewise.
/// </summary>
public sealed class EinsumTransposeAbsorptionPass : IGraphPass
{
    public string Name => "absorb-transpose-into-einsum";

    public PassResult Run(Model model)
    {
        var graph = model.Graph;
        if (GraphEdits.HasOuterSubgraphOutputs(graph))
        {
            return GraphEdits.SkippedForSubgraphs;
        }

        long operands = 0, outputs = 0;
        foreach (var einsum in graph.Nodes.Where(n => n.Is("Einsum")).ToList())
        {
            if (!ReferenceEquals(einsum.Graph, graph) || ShapeInference.ParseEinsum(einsum.GetString("equation", "")) is not { } parsed)
            {
                continue;
            }

            var terms = parsed.Inputs.ToList();
            var output = parsed.Output;
            var changed = false;
            for (var i = 0; i < einsum.Inputs.Count && i < terms.Count; i++)
            {
                var operand = einsum.Inputs[i];
                if (operand?.Producer is not { } transpose || !transpose.Is("Transpose") || transpose.Input(0) is not { } source
                    || Permutation(transpose, terms[i].Length) is not { } perm)
                {
                    continue;
                }

                var subscripts = new char[perm.Length];
                for (var j = 0; j < perm.Length; j++)
                {
                    subscripts[perm[j]] = terms[i][j];
                }

                terms[i] = new string(subscripts);
                einsum.SetInput(i, source);
                GraphEdits.RemoveIfDead(graph, transpose);
                operands++;
                changed = true;
            }

            // Einsum → Transpose (sole reader): permute the output subscripts instead.
            if (GraphEdits.SoleUser(graph, einsum.Outputs[0]) is { } after && after.Is("Transpose") && Permutation(after, output.Length) is { } outPerm
                && !graph.Outputs.Contains(after.Outputs[0]))
            {
                output = new string(outPerm.Select(p => output[(int)p]).ToArray());
                einsum.Outputs[0].Type = after.Outputs[0].Type;
                after.Outputs[0].ReplaceAllUsesWith(einsum.Outputs[0], graph);
                graph.Remove(after);
                outputs++;
                changed = true;
            }

            if (changed)
            {
                einsum.Attributes["equation"] = Attribute.String("equation", string.Join(",", terms) + "->" + output);
            }
        }

        return new PassResult(operands + outputs > 0)
        {
            Counters = new Dictionary<string, long> { ["operands"] = operands, ["outputs"] = outputs },
        };
    }

    private static long[]? Permutation(Node transpose, int rank)
    {
        var perm = transpose.GetInts("perm")?.ToArray() ?? Enumerable.Range(0, rank).Reverse().Select(i => (long)i).ToArray();
        return perm.Length == rank && perm.Order().SequenceEqual(Enumerable.Range(0, rank).Select(i => (long)i)) ? perm : null;
    }
}
