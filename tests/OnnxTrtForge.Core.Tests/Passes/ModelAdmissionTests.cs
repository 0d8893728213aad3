using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;

namespace OnnxTrtForge.Core.Tests.Passes;

public sealed class ModelAdmissionTests
{
    private static TinyModel Relu(long opset = 13)
    {
        var m = new TinyModel(opset);
        var relu = m.Op("Relu", [m.Input("x", DataType.Float, 2)]);
        relu.Name = "relu";
        m.Graph.Outputs.Add(relu.Outputs[0]);
        return m;
    }

    private static string Refused(Model model)
    {
        var e = Assert.Throws<ForgeInputException>(() => Optimizer.Optimize(model));
        Assert.DoesNotContain('\n', e.Message);
        return e.Message;
    }

    [Fact]
    public void A_default_domain_opset_forge_does_not_know_is_refused_before_any_pass()
    {
        var m = Relu();
        m.Model.OpsetImports[""] = 99;

        Assert.Contains("opset 99", Refused(m.Model), StringComparison.Ordinal);
    }

    [Fact]
    public void A_node_from_a_domain_the_model_does_not_import_is_refused_naming_the_node()
    {
        var m = Relu();
        var custom = m.Graph.Append(new Node("com.example", "Mystery", [m.Graph.Outputs[0]], ["z"], [], "mystery"));
        m.Graph.Outputs.Add(custom.Outputs[0]);

        var message = Refused(m.Model);

        Assert.Contains("'mystery'", message, StringComparison.Ordinal);
        Assert.Contains("com.example", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_node_from_an_imported_custom_domain_passes_through_untouched()
    {
        var m = Relu();
        m.Model.OpsetImports["com.example"] = 1;
        var custom = m.Graph.Append(new Node("com.example", "Mystery", [m.Graph.Outputs[0]], ["z"], [], "mystery"));
        m.Graph.Outputs.Add(custom.Outputs[0]);

        Optimizer.Optimize(m.Model);

        Assert.Contains(m.Graph.Nodes, n => n.OpType == "Mystery");
    }

    /// <summary>Fuzz seed 7 cases 1843, 2504, 2867, 3179, 8216: a Mul left with one input crashed simplify-arithmetic (exit 3).</summary>
    [Theory]
    [InlineData("Mul", 1)]
    [InlineData("Add", 3)]
    [InlineData("Relu", 2)]
    [InlineData("Conv", 1)]
    public void A_node_with_an_input_count_its_op_never_takes_is_refused_naming_the_node(string op, int inputs)
    {
        var m = new TinyModel(13);
        var args = Enumerable.Range(0, inputs).Select(i => m.Input($"x{i}", DataType.Float, 4)).ToArray();
        var node = m.Op(op, args);
        node.Name = "broken";
        m.Graph.Outputs.Add(node.Outputs[0]);

        var message = Refused(m.Model);

        Assert.Contains($"node 'broken' ({op}) has {inputs} input(s)", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_graph_with_no_outputs_is_refused()
    {
        var m = new TinyModel(13);
        m.Input("x", DataType.Float, 2);

        Assert.Contains("no outputs", Refused(m.Model), StringComparison.Ordinal);
    }
}
