using OnnxTrtForge.Core.Evaluation;
using OnnxTrtForge.Core.Ir;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// Simplifies constant Slices along axes of known size (other axes may be symbolic): a Slice that takes exactly one input of a Concat along
/// the Concat's axis is that input; Slices of one value that cut an axis into contiguous pieces
/// covering all of it (GEGLU's two halves, chunk()) become one Split. Pure data movement, so bit-exact.
/// </summary>
public sealed class SliceSimplificationPass : IGraphPass
{
    public string Name => "simplify-slices";

    /// <summary>A Slice of a static shape along one axis with step 1: [Start, End) of axis Axis.</summary>
    private sealed record Piece(Node Node, int Axis, long Start, long End);

    public PassResult Run(Model model)
    {
        var graph = model.Graph;
        if (GraphEdits.HasOuterSubgraphOutputs(graph))
        {
            return GraphEdits.SkippedForSubgraphs;
        }

        var opset = model.OnnxOpset;
        long fromConcat = 0, splits = 0;
        foreach (var node in graph.Nodes.Where(n => n.Is("Slice")).ToList())
        {
            if (ReferenceEquals(node.Graph, graph) && AsPiece(node, opset) is { } piece && TakeConcatInput(graph, piece))
            {
                fromConcat++;
            }
        }

        var bySource = graph.Nodes.Where(n => n.Is("Slice")).Select(n => AsPiece(n, opset)).OfType<Piece>()
            .GroupBy(p => (p.Node.Input(0)!, p.Axis)).Where(g => g.Count() > 1).ToList();
        foreach (var group in bySource)
        {
            if (TrySplit(graph, group.Key.Item1, group.Key.Axis, group.ToList(), opset))
            {
                splits++;
            }
        }

        return new PassResult(fromConcat + splits > 0)
        {
            Counters = new Dictionary<string, long> { ["slices-of-concat"] = fromConcat, ["splits"] = splits },
        };
    }

    /// <summary>The dims of a tensor value, sizes or null (symbolic or unknown); null when the rank is unknown or only declared (<see cref="Value.ShapeUnconfirmed"/>).</summary>
    private static long?[]? Dims(Value? value) => value is { ShapeUnconfirmed: false, Type: { Kind: TypeKind.Tensor, Shape: { } shape } } ? shape.Select(d => d.Value).ToArray() : null;

    private static Piece? AsPiece(Node slice, long opset)
    {
        var input = slice.Input(0);
        if (Dims(input) is not { } dims || Dims(slice.Outputs[0]) is null
            || OpArguments.SliceBounds(slice, opset, i => GraphEdits.SmallConstant(slice.Input(i))?.AsLongs()) is not { } b || b.Starts.Length != 1)
        {
            return null;
        }

        if ((b.Steps?[0] ?? 1) != 1)
        {
            return null;
        }

        var axis = ShapeMath.Axis(b.Axes?[0] ?? 0, dims.Length);
        if (dims[axis] is not { } size)
        {
            return null;
        }

        var range = ShapeMath.SliceRange(size, b.Starts[0], b.Ends[0], 1);
        return new Piece(slice, axis, range.Start, range.Start + range.Count);
    }

    private static bool TakeConcatInput(Graph graph, Piece piece)
    {
        if (piece.Node.Input(0)?.Producer is not { } concat || !concat.Is("Concat"))
        {
            return false;
        }

        var rank = Dims(piece.Node.Input(0))!.Length;
        if (ShapeMath.Axis(concat.GetInt("axis", 0), rank) != piece.Axis)
        {
            return false;
        }

        long offset = 0;
        foreach (var part in concat.Inputs)
        {
            if (Dims(part) is not { } partDims || partDims.Length != rank || partDims[piece.Axis] is not { } partSize)
            {
                return false;
            }

            var end = offset + partSize;
            if (offset == piece.Start && end == piece.End)
            {
                if (GraphEdits.Bypass(graph, piece.Node, piece.Node.Outputs[0], part!))
                {
                    GraphEdits.RemoveIfDead(graph, concat);
                    return true;
                }

                return false;
            }

            offset = end;
        }

        return false;
    }

    private static bool TrySplit(Graph graph, Value source, int axis, List<Piece> pieces, long opset)
    {
        var dims = Dims(source)!;
        var ordered = pieces.OrderBy(p => p.Start).ToList();
        long cursor = 0;
        foreach (var p in ordered)
        {
            if (p.Start != cursor || p.End <= p.Start || graph.Outputs.Contains(p.Node.Outputs[0]))
            {
                return false;
            }

            cursor = p.End;
        }

        if (cursor != dims[axis])
        {
            return false;
        }

        var sizes = ordered.Select(p => p.End - p.Start).ToArray();
        var anchor = graph.Nodes.First(n => ordered.Any(p => ReferenceEquals(p.Node, n)));
        Node split;
        if (opset >= 13)
        {
            var sizeValue = graph.AddInitializer(HostTensor.Int64s(sizes).ToTensor(), graph.Names.Fresh("split_sizes"));
            split = graph.Create("Split", [source, sizeValue], ordered.Count, [Attribute.Int("axis", axis)], anchor);
        }
        else
        {
            split = graph.Create("Split", [source], ordered.Count, [Attribute.Int("axis", axis), Attribute.IntList("split", sizes)], anchor);
        }

        for (var i = 0; i < ordered.Count; i++)
        {
            var old = ordered[i].Node.Outputs[0];
            split.Outputs[i].Type = old.Type;
            GraphEdits.Bypass(graph, ordered[i].Node, old, split.Outputs[i]);
        }

        return true;
    }
}
