using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Tests.Passes;

/// <summary>
/// Before opset 7 ONNX broadcast B onto A under a `broadcast` attribute, aligned at `axis` (Sum/Mean/Max/Min took one
/// shape until opset 8); numpy broadcasting came with opset 7. forge's numpy shape function called a valid opset-6
/// PRelu a conflict (ONNX's backend data: the `*_multiparam` PRelu models), and its numpy evaluator would have folded an
/// axis-aligned Add into other numbers. ONNX Runtime runs opset 7 and later only, so these graphs are not run here.
/// </summary>
public sealed class LegacyBroadcastTests
{
    [Fact]
    public void An_opset_6_prelu_with_one_slope_per_channel_is_not_a_broadcast_conflict()
    {
        var m = new TinyModel(6);
        var x = m.Input("x", DataType.Float, 2, 3, 4);
        var prelu = m.Op("PRelu", [x, m.Floats("slope", [3], 0.1f, 0.2f, 0.3f)]);
        m.Graph.Outputs.Add(prelu.Outputs[0]);

        Optimizer.Optimize(m.Model);

        Assert.Equal([2L, 3, 4], m.Graph.Outputs[0].Type!.StaticDims!);
    }

    [Fact]
    public void An_opset_6_add_aligned_at_an_axis_is_never_folded_with_numpy_broadcasting()
    {
        // A [2,3,3] + B [3] along axis 1 adds B[c] to channel c; numpy would add B[w] to column w: both have shape [2,3,3]
        var m = new TinyModel(6);
        var a = m.Floats("a", [2, 3, 3], new float[18]);
        var add = m.Op("Add", [a, m.Floats("b", [3], 1f, 2f, 3f)], Attribute.Int("broadcast", 1), Attribute.Int("axis", 1));
        var relu = m.Op("Relu", [add.Outputs[0]]);
        m.Graph.Outputs.Add(relu.Outputs[0]);

        Optimizer.Optimize(m.Model);

        Assert.Contains(m.Graph.Nodes, n => n.OpType == "Add");
    }

    [Fact]
    public void From_opset_7_the_same_add_folds_with_numpy_broadcasting()
    {
        var m = new TinyModel(7);
        var a = m.Floats("a", [2, 3, 3], new float[18]);
        var add = m.Op("Add", [a, m.Floats("b", [3], 1f, 2f, 3f)]);
        var relu = m.Op("Relu", [add.Outputs[0]]);
        m.Graph.Outputs.Add(relu.Outputs[0]);

        Optimizer.Optimize(m.Model);

        Assert.DoesNotContain(m.Graph.Nodes, n => n.OpType == "Add");
    }
}
