using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;

namespace OnnxTrtForge.Core.Tests.Passes;

public sealed class TopologicalSortPassTests
{
    [Fact]
    public void Orders_nodes_appended_out_of_order_and_keeps_valid_order_stable()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 3);
        var late = new Value("late");
        var consumer = new Node("", "Neg", [late], ["y"], name: "consumer");
        var other = new Node("", "Abs", [x], ["z"], name: "other");
        m.Graph.Append(consumer);
        m.Graph.Append(other);
        var producer = new Node("", "Exp", [x], ["late_out"], name: "producer");
        m.Graph.Append(producer);
        consumer.SetInput(0, producer.Outputs[0]);
        m.Output(consumer.Outputs[0], DataType.Float, 3);
        m.Output(other.Outputs[0], DataType.Float, 3);
        Assert.Throws<PassFailedException>(() => GraphValidator.Validate(m.Model));

        var result = new TopologicalSortPass().Run(m.Model);

        Assert.True(result.Modified);
        Assert.Equal(["other", "producer", "consumer"], m.Graph.Nodes.Select(n => n.Name));
        GraphValidator.Validate(m.Model);
        var again = new TopologicalSortPass().Run(m.Model);
        Assert.False(again.Modified);
        var inputs = m.RandomInputs();
        var outputs = m.RunOrt(inputs);
        var x0 = inputs[0].ToDoubleArray();
        Assert.Equal(x0.Select(v => (float)-Math.Exp(v)), outputs[0].ToDoubleArray().Select(v => (float)v), (a, b) => Math.Abs(a - b) <= 1e-6f * Math.Max(1, Math.Abs(a)));
        Assert.Equal(x0.Select(v => (float)Math.Abs(v)), outputs[1].ToDoubleArray().Select(v => (float)v));
    }
}
