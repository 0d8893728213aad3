using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Ops;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// The check of the <c>tensorrt</c> target: TensorRT's ONNX parser takes the standard ops its operator matrix
/// lists, which the op-schema table records as <see cref="OpSchema.TensorRtParsable"/>. A node outside the
/// default ONNX domain (an ATen fallback no rule rewrote, a contrib op), an op the table does not know, or one it
/// marks unparsable fails the run with one line naming the node and its op. Never changes the model.
/// </summary>
public sealed class StandardOpsCheckPass : IGraphPass
{
    private readonly OpSchemaTable schemas;

    public StandardOpsCheckPass()
        : this(OpSchemas.Default)
    {
    }

    /// <summary>Reads <paramref name="schemas"/> instead of the default op-schema table (tests).</summary>
    public StandardOpsCheckPass(OpSchemaTable schemas)
    {
        this.schemas = schemas;
    }

    public string Name => "check-standard-ops";

    public PassResult Run(Model model)
    {
        var nodes = model.Graph.AllNodes().ToList();
        var refused = nodes.Where(n => Reason(n, model.OnnxOpset) is not null).ToList();
        if (refused.Count > 0)
        {
            var first = refused[0];
            var more = refused.Count > 1 ? $" (and {refused.Count - 1} more nodes TensorRT cannot parse)" : "";
            throw new PassFailedException($"target tensorrt: node '{first.Name}' is op '{first.QualifiedOpType}', {Reason(first, model.OnnxOpset)}{more}");
        }

        return new PassResult(false) { Counters = new Dictionary<string, long> { ["nodes-checked"] = nodes.Count } };
    }

    private string? Reason(Node node, long opset) =>
        !node.IsOnnxDomain ? "outside the default ONNX domain"
        : schemas.Find(node, opset) is not { } schema ? "which forge's op-schema table does not know (TensorRT parsability unknown)"
        : !schema.TensorRtParsable ? "which TensorRT's ONNX parser does not support"
        : null;
}
