using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Tests.Passes;

public sealed class GroupNormAsInstanceNormPassTests
{
    /// <summary>The exporter's GroupNorm: Reshape [N,G,-1] → InstanceNorm(1, 0) → Reshape back → Mul γ → Add β.</summary>
    private static TinyModel GroupNorm(int channels, int groups, float[] gamma, float[] beta)
    {
        var m = new TinyModel(12);
        var x = m.Input("x", DataType.Float, 2, channels, 4, 4);
        var r1 = m.Op("Reshape", [x, m.Int64s("grouped", 0, groups, -1)]);
        r1.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [2, groups, channels * 16 / groups]);
        var norm = m.Op("InstanceNormalization", [r1.Outputs[0], m.Floats("s", [groups], Enumerable.Repeat(1f, groups).ToArray()), m.Floats("b", [groups], new float[groups])], Attribute.Float("epsilon", 1e-5f));
        norm.Outputs[0].Type = r1.Outputs[0].Type;
        var r2 = m.Op("Reshape", [norm.Outputs[0], m.Int64s("back", 2, channels, 4, 4)]);
        r2.Outputs[0].Type = x.Type;
        var mul = m.Op("Mul", [r2.Outputs[0], m.Floats("gamma", [channels, 1, 1], gamma)]);
        mul.Outputs[0].Type = x.Type;
        var add = m.Op("Add", [mul.Outputs[0], m.Floats("beta", [channels, 1, 1], beta)]);
        add.Outputs[0].Type = x.Type;
        var y = m.Op("Sigmoid", [add.Outputs[0]]);
        m.Output(y.Outputs[0], DataType.Float, 2, channels, 4, 4);
        return m;
    }

    [Fact]
    public void Turns_a_group_norm_with_one_channel_per_group_into_one_instance_norm_with_the_affine_folded_in()
    {
        var m = GroupNorm(4, 4, [0.5f, 2f, -1f, 1.5f], [0.1f, -0.2f, 0.3f, 0f]);

        var (result, before, after) = m.RunPass(new GroupNormAsInstanceNormPass());

        Assert.Equal(1, result.Counters["group-norms"]);
        Assert.Equal(["InstanceNormalization", "Sigmoid"], m.Ops);
        var norm = m.Graph.Nodes[0];
        Assert.Same(m.Graph.Inputs[0], norm.Input(0));
        Assert.Equal([0.5, 2, -1, 1.5], norm.Input(1)!.Initializer!.ToDoubleArray());
        TinyModel.AssertSame(before, after, 1e-6);
    }

    [Fact]
    public void Keeps_a_group_norm_with_several_channels_per_group()
    {
        var m = GroupNorm(4, 2, [1, 1, 1, 1], [0, 0, 0, 0]);

        Assert.False(new GroupNormAsInstanceNormPass().Run(m.Model).Modified);
        Assert.Equal(6, m.Ops.Count);
    }

    /// <summary>
    /// The exporter's GroupNorm over x [batch, channels, height, width] with every size read at run time:
    /// Shape(x) → Gather(0) → Unsqueeze → Concat(·, [G], [-1]) → Reshape → InstanceNorm → Reshape(·, Shape(x)) → Mul γ → Add β.
    /// </summary>
    private static (TinyModel Model, Node GroupReshape) DynamicGroupNorm(int channels, int groups)
    {
        var m = new TinyModel(12);
        var x = m.Graph.AddInput("x", TypeInfo.OfTensor(DataType.Float, [Dim.Symbol("batch"), Dim.Of(channels), Dim.Symbol("height"), Dim.Symbol("width")]));
        var shape = m.Op("Shape", [x]).Outputs[0];
        var batch = m.Op("Gather", [shape, m.Const(Tensor.Scalar(0), "i0")], Attribute.Int("axis", 0)).Outputs[0];
        var n = m.Op("Unsqueeze", [batch], Attribute.IntList("axes", [0])).Outputs[0];
        var target = m.Op("Concat", [n, m.Int64s("g", groups), m.Int64s("rest", -1)], Attribute.Int("axis", 0)).Outputs[0];
        var grouped = m.Op("Reshape", [x, target]);
        var ones = Enumerable.Repeat(1f, groups).ToArray();
        var norm = m.Op("InstanceNormalization", [grouped.Outputs[0], m.Floats("s", [groups], ones), m.Floats("b", [groups], new float[groups])], Attribute.Float("epsilon", 1e-5f));
        var back = m.Op("Reshape", [norm.Outputs[0], m.Op("Shape", [x]).Outputs[0]]);
        var rng = new Random(3);
        var mul = m.Op("Mul", [back.Outputs[0], m.Floats("gamma", [channels, 1, 1], Enumerable.Range(0, channels).Select(_ => (float)rng.NextDouble() + 0.5f).ToArray())]);
        var add = m.Op("Add", [mul.Outputs[0], m.Floats("beta", [channels, 1, 1], Enumerable.Range(0, channels).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray())]);
        var y = m.Op("Sigmoid", [add.Outputs[0]]).Outputs[0];
        y.Type = x.Type;
        m.Graph.Outputs.Add(y);
        return (m, grouped);
    }

    [Fact]
    public void A_dynamic_group_norm_with_several_channels_per_group_becomes_constant_reshapes_exact_at_every_shape()
    {
        var (m, _) = DynamicGroupNorm(64, 32);
        var shapes = new long[][] { [1, 64, 8, 8], [2, 64, 5, 7], [3, 64, 16, 4], [1, 64, 1, 9] };
        var inputs = shapes.Select((s, i) => new[] { OrtRunner.RandomFloats(s, 20 + i, 3f) }).ToList();
        var before = inputs.Select(m.RunOrt).ToList();
        var signature = m.Graph.Inputs.Concat(m.Graph.Outputs).Select(v => v.Type!.ToString()).ToList();

        var report = Optimizer.Optimize(m.Model, new OptimizeOptions { ValidateEveryPass = true });

        Assert.Equal(["Reshape", "InstanceNormalization", "Reshape", "Mul", "Add", "Sigmoid"], m.Ops);
        var reshapes = m.Graph.Nodes.Where(n => n.OpType == "Reshape").ToList();
        Assert.Equal([0L, 32, -1, 0], reshapes[0].Input(1)!.Initializer!.ToInt64Array());
        Assert.Equal([0L, 64, -1, 0], reshapes[1].Input(1)!.Initializer!.ToInt64Array());
        Assert.Contains(report.Passes, p => p.Counters.GetValueOrDefault("regrouped-keeping-trailing-dims") == 1);
        Assert.Equal(signature, m.Graph.Inputs.Concat(m.Graph.Outputs).Select(v => v.Type!.ToString()).ToList());
        for (var i = 0; i < shapes.Length; i++)
        {
            TinyModel.AssertSame(before[i], m.RunOrt(inputs[i]), 1e-5);
        }
    }

    [Fact]
    public void A_dynamic_group_norm_whose_normalized_value_has_another_reader_keeps_its_grouping()
    {
        var (m, grouped) = DynamicGroupNorm(64, 32);
        new ShapeInferencePass().Run(m.Model);
        var norm = m.Graph.Nodes.Single(n => n.OpType == "InstanceNormalization");
        var extra = m.Op("ReduceMean", [norm.Outputs[0]], Attribute.IntList("axes", [2]), Attribute.Int("keepdims", 0)).Outputs[0];
        m.Graph.Outputs.Add(extra);
        new ShapeInferencePass().Run(m.Model);
        var before = grouped.Outputs[0].Type!.ToString();

        var result = new GroupNormAsInstanceNormPass().Run(m.Model);

        Assert.False(result.Modified);
        Assert.Equal(before, grouped.Outputs[0].Type!.ToString());
        Assert.EndsWith("[batch,32,2*height*width]", before, StringComparison.Ordinal);
    }

    [Fact]
    public void A_dynamic_group_norm_read_by_a_reshape_that_copies_its_flattened_dim_keeps_its_grouping()
    {
        // Reshape(norm, [0, 0, 0]) copies [N, G, (C/G)·H·W]: after a regrouping it would copy (C/G)·H and lose W
        var (m, grouped) = DynamicGroupNorm(64, 32);
        new ShapeInferencePass().Run(m.Model);
        var norm = m.Graph.Nodes.Single(n => n.OpType == "InstanceNormalization");
        var copy = m.Op("Reshape", [norm.Outputs[0], m.Int64s("copy", 0, 0, 0)]).Outputs[0];
        m.Graph.Outputs.Add(m.Op("Relu", [copy]).Outputs[0]);
        new ShapeInferencePass().Run(m.Model);
        var inputs = new[] { OrtRunner.RandomFloats([2, 64, 3, 5], 9) };
        var before = m.RunOrt(inputs);

        var result = new GroupNormAsInstanceNormPass().Run(m.Model);

        Assert.False(result.Modified, string.Join(", ", result.Counters) + " " + string.Join(", ", m.Ops));
        Assert.EndsWith("[batch,32,2*height*width]", grouped.Outputs[0].Type!.ToString(), StringComparison.Ordinal);
        TinyModel.AssertSame(before, m.RunOrt(inputs));
    }
}
