using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using OnnxTrtForge.Core.Rewrites;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Testing;
using OnnxTrtForge.Core.Tests.Passes;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Tests.Rewrites;

public sealed class AtenBroadcastToExpandTests
{
    private static Node Aten(TinyModel m, string op, params Value[] inputs)
    {
        m.Model.OpsetImports[AtenBroadcastToExpand.AtenDomain] = 1;
        var node = new Node(AtenBroadcastToExpand.AtenDomain, "ATen", inputs, [m.Graph.Names.Fresh("aten_out")],
            [Attribute.String("operator", op), Attribute.String("overload_name", "")], m.Graph.Names.Fresh("ATen"));
        return m.Graph.Append(node);
    }

    /// <summary>Broadcasts row-major <paramref name="x"/> of shape [1, n] to [rows, n].</summary>
    private static float[] Rows(float[] x, int rows) => Enumerable.Range(0, rows).SelectMany(_ => x).ToArray();

    [Fact]
    public void Turns_broadcast_to_with_a_constant_size_into_expand_with_minus_one_as_one()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 1, 3);
        var size = m.Int64s("size", 4, -1);
        var aten = Aten(m, "broadcast_to", x, size);
        var y = m.Op("Relu", [aten.Outputs[0]]);
        m.Output(y.Outputs[0], DataType.Float, 4, 3);

        var result = new RewriteRulesPass([new AtenBroadcastToExpand()]).Run(m.Model);

        Assert.Equal(1, result.Counters["aten-broadcast-to-expand: rewritten"]);
        Assert.Equal(["Expand", "Relu"], m.Ops);
        var expand = m.Graph.Nodes[0];
        Assert.Same(x, expand.Input(0));
        Assert.Equal([4L, 1L], expand.Input(1)!.Initializer!.ToInt64Array());
        Assert.False(m.Model.OpsetImports.ContainsKey(AtenBroadcastToExpand.AtenDomain));
        var input = m.RandomInputs();
        var output = m.RunOrt(input)[0];
        Assert.Equal([4L, 3L], output.Dims);
        var expected = Rows(input[0].ToDoubleArray().Select(v => (float)Math.Max(v, 0)).ToArray(), 4);
        Assert.Equal(expected, output.ToDoubleArray().Select(v => (float)v).ToArray());
    }

    [Fact]
    public void Turns_broadcast_to_with_a_runtime_size_into_expand_of_where_equal_minus_one()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 1, 3);
        var size = m.Input("size", DataType.Int64, 2);
        var aten = Aten(m, "broadcast_to", x, size);
        aten.Outputs[0].Name = "y";
        m.Output(aten.Outputs[0], DataType.Float, 5, 3);

        var result = new RewriteRulesPass([new AtenBroadcastToExpand()]).Run(m.Model);

        Assert.True(result.Modified);
        Assert.Equal(["Equal", "Where", "Expand"], m.Ops);
        Assert.Equal("y", m.Graph.Outputs[0].Name);
        GraphValidator.Validate(m.Model);
        var xs = TinyModel.Random(x.Type!, 3);
        foreach (var rows in new long[] { 5, 1 })
        {
            var output = m.RunOrt([xs, Tensor.FromInt64s([2], [rows, -1])])[0];
            Assert.Equal([rows, 3L], output.Dims);
            Assert.Equal(Rows(xs.ToDoubleArray().Select(v => (float)v).ToArray(), (int)rows), output.ToDoubleArray().Select(v => (float)v).ToArray());
        }
    }

    [Fact]
    public void Reports_an_aten_operator_without_a_rule_by_name_and_keeps_its_opset_import()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 2, 3);
        var aten = Aten(m, "roll", x, m.Int64s("shifts", 1));
        aten.Name = "my_roll";
        m.Output(aten.Outputs[0], DataType.Float, 2, 3);

        var result = new RewriteRulesPass(RewriteRuleRegistry.All()).Run(m.Model);

        Assert.False(result.Modified);
        Assert.Equal(1, result.Counters["aten-broadcast-to-expand: no match: operator 'roll' is not broadcast_to"]);
        Assert.Contains(result.Notes, n => n.Contains("'roll'", StringComparison.Ordinal) && n.Contains("'my_roll'", StringComparison.Ordinal));
        Assert.True(m.Model.OpsetImports.ContainsKey(AtenBroadcastToExpand.AtenDomain));
    }

    [Fact]
    public void Unknown_rule_names_are_bad_input_listing_the_known_rules()
    {
        var e = Assert.Throws<ForgeInputException>(() => RewriteRuleRegistry.Select(["aten-roll"]));

        Assert.Contains("aten-broadcast-to-expand", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rewrites_the_real_exported_aten_node_and_the_model_then_loads_in_onnx_runtime()
    {
        using var model = OnnxReader.Load(Fixtures.Model("tiny_unet_opset12_fp16_aten"));
        var aten = model.Graph.Nodes.Single(n => n.OpType == "ATen");
        Assert.Equal(AtenBroadcastToExpand.AtenDomain, aten.Domain);
        var consumers = aten.Outputs[0].Uses.Select(u => u.Node).ToList();

        var result = new RewriteRulesPass(RewriteRuleRegistry.All()).Run(model);

        Assert.Equal(1, result.Counters["aten-broadcast-to-expand: rewritten"]);
        Assert.DoesNotContain(model.Graph.Nodes, n => n.OpType == "ATen");
        Assert.False(model.OpsetImports.ContainsKey(AtenBroadcastToExpand.AtenDomain));
        var expand = model.Graph.Nodes.Single(n => n.OpType == "Expand" && consumers.All(c => c.Inputs.Contains(n.Outputs[0])));
        GraphValidator.Validate(model);
        using var temp = Fixtures.Temp();
        OnnxWriter.Save(model, temp.File("model.onnx"));
        var dir = Fixtures.Dir("tiny_unet_opset12_fp16_aten");
        var output = OrtRunner.Run(temp.File("model.onnx"), OrtRunner.TestInputs(dir))[0];
        Assert.InRange(OrtRunner.RelativeL2(output, OrtRunner.TestOutput(dir)), 0, 2e-3);
        Assert.NotNull(expand);
    }
}
