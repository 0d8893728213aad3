using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Tests.Passes;

public sealed class GraphValidatorTests
{
    [Fact]
    public void Accepts_a_well_formed_graph_with_a_subgraph_reading_an_outer_value()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 3);
        var cond = m.Input("cond", DataType.Bool, 1);
        var exp = m.Op("Exp", [x]);
        var body = new Graph("then", m.Graph);
        body.Outputs.Add(body.Create("Neg", [exp.Outputs[0]]).Outputs[0]);
        var other = new Graph("else", m.Graph);
        other.Outputs.Add(other.Create("Abs", [x]).Outputs[0]);
        var iff = m.Op("If", [cond], Attribute.GraphValue("then_branch", body), Attribute.GraphValue("else_branch", other));
        m.Output(iff.Outputs[0], DataType.Float, 3);

        GraphValidator.Validate(m.Model);
    }

    [Fact]
    public void Rejects_a_cast_whose_output_type_is_not_its_to_attribute()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 3);
        var cast = m.Op("Cast", [x], Attribute.Int("to", (long)DataType.Float16));
        cast.Name = "the_cast";
        m.Output(cast.Outputs[0], DataType.Float, 3);

        var e = Assert.Throws<PassFailedException>(() => GraphValidator.Validate(m.Model));

        Assert.Contains("'the_cast'", e.Message, StringComparison.Ordinal);
        Assert.Contains("float16", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rejects_an_elementwise_op_with_mixed_input_types()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 3);
        var h = m.Input("h", DataType.Float16, 3);
        var add = m.Op("Add", [x, h]);
        m.Output(add.Outputs[0], DataType.Float, 3);

        var e = Assert.Throws<PassFailedException>(() => GraphValidator.Validate(m.Model));

        Assert.Contains(add.Name, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rejects_an_input_that_no_node_defines_and_a_duplicated_value_name()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 3);
        var stray = new Value("stray");
        var neg = m.Op("Neg", [stray]);
        m.Output(neg.Outputs[0], DataType.Float, 3);
        Assert.Contains("'stray'", Assert.Throws<PassFailedException>(() => GraphValidator.Validate(m.Model)).Message, StringComparison.Ordinal);

        var m2 = new TinyModel();
        var y = m2.Input("y", DataType.Float, 3);
        var a = m2.Op("Exp", [y]);
        var b = m2.Op("Neg", [a.Outputs[0]]);
        b.Outputs[0].Name = a.Outputs[0].Name;
        m2.Output(b.Outputs[0], DataType.Float, 3);
        Assert.Contains("two different values", Assert.Throws<PassFailedException>(() => GraphValidator.Validate(m2.Model)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rejects_a_graph_output_that_nothing_defines()
    {
        var m = new TinyModel();
        m.Input("x", DataType.Float, 3);
        m.Output(new Value("ghost"), DataType.Float, 3);

        Assert.Contains("'ghost'", Assert.Throws<PassFailedException>(() => GraphValidator.Validate(m.Model)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lets_sibling_branches_reuse_a_name_but_not_shadow_an_outer_value()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 3);
        var cond = m.Input("cond", DataType.Bool, 1);
        var body = new Graph("then", m.Graph);
        var t = body.Append(new Node("", "Neg", [x], ["branch_out"]));
        body.Outputs.Add(t.Outputs[0]);
        var other = new Graph("else", m.Graph);
        var e = other.Append(new Node("", "Abs", [x], ["branch_out"]));
        other.Outputs.Add(e.Outputs[0]);
        var iff = m.Op("If", [cond], Attribute.GraphValue("then_branch", body), Attribute.GraphValue("else_branch", other));
        m.Output(iff.Outputs[0], DataType.Float, 3);
        GraphValidator.Validate(m.Model);

        e.Outputs[0].Name = "x";

        Assert.Contains("'x'", Assert.Throws<PassFailedException>(() => GraphValidator.Validate(m.Model)).Message, StringComparison.Ordinal);
    }
}
