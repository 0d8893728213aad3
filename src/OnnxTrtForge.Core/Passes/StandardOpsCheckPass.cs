using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// The check of the <c>tensorrt</c> target: TensorRT's ONNX parser takes standard ops only, so a node
/// outside the default ONNX domain (an ATen fallback no rule rewrote, a contrib op) fails the run with
/// one line naming the node and its op. Never changes the model.
/// </summary>
public sealed class StandardOpsCheckPass : IGraphPass
{
    public string Name => "check-standard-ops";

    public PassResult Run(Model model)
    {
        var foreign = model.Graph.AllNodes().Where(n => !n.IsOnnxDomain).ToList();
        if (foreign.Count > 0)
        {
            var first = foreign[0];
            var more = foreign.Count > 1 ? $" (and {foreign.Count - 1} more non-standard nodes)" : "";
            throw new PassFailedException($"target tensorrt: node '{first.Name}' is op '{first.QualifiedOpType}', outside the default ONNX domain{more}");
        }

        return new PassResult(false) { Counters = new Dictionary<string, long> { ["nodes-checked"] = model.Graph.AllNodes().Count() } };
    }
}
