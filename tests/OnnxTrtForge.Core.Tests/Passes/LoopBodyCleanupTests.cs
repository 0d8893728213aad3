using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Tests.Passes;

/// <summary>The cleanup passes together on a Loop body (subgraph inputs, outer reads, carried values), checked in ORT.</summary>
public sealed class LoopBodyCleanupTests
{
    [Fact]
    public void Cleans_a_loop_body_and_keeps_its_carried_values_and_outer_reads_correct()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 3);
        var trips = m.Const(Tensor.Scalar(3), "trips");
        var cond = m.Const(Tensor.FromArray(DataType.Bool, [], new byte[] { 1 }), "cond");
        var outer = m.Op("Exp", [x]);

        var body = new Graph("body", m.Graph);
        body.AddInput("i", TypeInfo.OfTensor(DataType.Int64, Array.Empty<long>()));
        var condIn = body.AddInput("cond_in", TypeInfo.OfTensor(DataType.Bool, Array.Empty<long>()));
        var acc = body.AddInput("acc", TypeInfo.OfTensor(DataType.Float, [3]));
        var condOut = body.Create("Identity", [condIn]);
        var two = body.Create("Constant", [], attributes: [Attribute.TensorValue("value", Tensor.FromFloats([], [2f]))]);
        var alias = body.Create("Identity", [acc]);
        var scaled = body.Create("Mul", [alias.Outputs[0], two.Outputs[0]]);
        var twin = body.Create("Mul", [alias.Outputs[0], two.Outputs[0]]);
        body.Create("Neg", [twin.Outputs[0]]);
        var sum = body.Create("Add", [scaled.Outputs[0], outer.Outputs[0]]);
        condOut.Outputs[0].Type = TypeInfo.OfTensor(DataType.Bool, Array.Empty<long>());
        sum.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [3]);
        body.Outputs.Add(condOut.Outputs[0]);
        body.Outputs.Add(sum.Outputs[0]);

        var loop = m.Op("Loop", [trips, cond, x], Attribute.GraphValue("body", body));
        m.Output(loop.Outputs[0], DataType.Float, 3);
        var inputs = m.RandomInputs();
        var before = m.RunOrt(inputs);

        var report = Optimizer.Optimize(m.Model, new OptimizeOptions
        {
            Passes = ["lift-constants", "remove-identity", "cse", "remove-dead-nodes", "remove-unused-initializers", "topological-sort"],
            ValidateEveryPass = true,
        });

        Assert.Equal(["Identity", "Mul", "Add"], body.Nodes.Select(n => n.OpType));
        Assert.Same(condIn, body.Nodes[0].Input(0));
        Assert.Same(acc, body.Nodes[1].Input(0));
        Assert.NotNull(body.Nodes[1].Input(1)!.Initializer);
        Assert.Same(outer.Outputs[0], body.Nodes[2].Input(1));
        Assert.Equal(["Exp", "Loop"], m.Ops);
        Assert.Equal(9, report.Before.Nodes);
        Assert.Equal(5, report.After.Nodes);
        var after = m.RunOrt(inputs);
        TinyModel.AssertSame(before, after);
        var x0 = inputs[0].ToDoubleArray();
        var expected = x0.Select(v => (float)v).ToArray();
        for (var i = 0; i < 3; i++)
        {
            expected = expected.Select((v, k) => (v * 2) + (float)Math.Exp(x0[k])).ToArray();
        }

        Assert.Equal(expected, after[0].ToDoubleArray().Select(v => (float)v), (a, b) => Math.Abs(a - b) <= 1e-5f * Math.Max(1, Math.Abs(a)));
    }
}
