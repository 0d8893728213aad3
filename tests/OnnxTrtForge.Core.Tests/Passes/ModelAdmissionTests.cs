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

    [Fact]
    public void A_graph_with_no_outputs_is_refused()
    {
        var m = new TinyModel(13);
        m.Input("x", DataType.Float, 2);

        Assert.Contains("no outputs", Refused(m.Model), StringComparison.Ordinal);
    }
}
