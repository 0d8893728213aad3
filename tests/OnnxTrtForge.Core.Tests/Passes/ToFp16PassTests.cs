using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using OnnxTrtForge.Core.Passes.Fp16;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Testing;
using IrAttribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Tests.Passes;

public sealed class ToFp16PassTests
{
    /// <summary>x[2,8] → MatMul(W1) → h; ReduceMean(h) → m; Sub(h, m) → d; MatMul(d, W2) → y.</summary>
    private static (Model Model, Value H, Value Y) MatMulNormMatMul(float biasValue = 0.5f)
    {
        var graph = new Graph("g");
        var model = new Model(graph);
        model.OpsetImports[""] = 17;
        var x = graph.AddInput("x", TypeInfo.OfTensor(DataType.Float, [2, 8]));
        var w1 = graph.AddInitializer(OrtRunner.RandomFloats([8, 8], 1), "W1");
        var w2 = graph.AddInitializer(OrtRunner.RandomFloats([8, 4], 2), "W2");
        var b = graph.AddInitializer(Tensor.FromFloats([4], [biasValue, -biasValue, 0.25f, 1f]), "B");
        var h = graph.Create("MatMul", [x, w1], nameHint: "mm1").Outputs[0];
        var m = graph.Create("ReduceMean", [h], attributes: [IrAttribute.IntList("axes", [1]), IrAttribute.Int("keepdims", 1)], nameHint: "mean").Outputs[0];
        var d = graph.Create("Sub", [h, m], nameHint: "sub").Outputs[0];
        var p = graph.Create("MatMul", [d, w2], nameHint: "mm2").Outputs[0];
        var y = graph.Create("Add", [p, b], nameHint: "bias").Outputs[0];
        y.Type = TypeInfo.OfTensor(DataType.Float, [2, 4]);
        graph.Outputs.Add(y);
        return (model, h, y);
    }

    private static List<Node> Casts(Graph graph) => graph.Nodes.Where(n => n.Is("Cast")).ToList();

    private static DataType CastTo(Node cast) => (DataType)cast.GetInt("to", 0);

    private static void AssertSameOutputs(IReadOnlyList<Tensor> before, IReadOnlyList<Tensor> after, double tolerance)
    {
        Assert.Equal(before.Count, after.Count);
        for (var i = 0; i < before.Count; i++)
        {
            Assert.False(OrtRunner.HasNonFinite(after[i]));
            var rel = OrtRunner.RelativeL2(after[i], before[i]);
            Assert.True(rel <= tolerance, $"output {i}: relative L2 {rel:E3} > {tolerance:E1}");
        }
    }

    [Fact]
    public void Wraps_a_blocked_reduction_in_casts_and_keeps_io_float32()
    {
        var (model, h, y) = MatMulNormMatMul();
        var inputs = new[] { OrtRunner.RandomFloats([2, 8], 7) };
        var before = OrtRunner.Run(model, inputs);
        var outputName = y.Name;

        var result = new ToFp16Pass().Run(model);

        Assert.True(result.Modified);
        var graph = model.Graph;
        Assert.Equal(DataType.Float, graph.Inputs[0].Type!.ElementType);
        Assert.Equal(DataType.Float, graph.Outputs[0].Type!.ElementType);
        Assert.Equal(outputName, graph.Outputs[0].Name);
        Assert.NotEqual(outputName, y.Name);
        Assert.All(graph.Initializers, w => Assert.Equal(DataType.Float16, w.Initializer!.Type));

        var mean = graph.Nodes.Single(n => n.Is("ReduceMean"));
        var sub = graph.Nodes.Single(n => n.Is("Sub"));
        Assert.True(mean.Inputs[0]!.Producer!.Is("Cast"));
        Assert.Same(h, mean.Inputs[0]!.Producer!.Inputs[0]);
        Assert.Equal(DataType.Float, CastTo(mean.Inputs[0]!.Producer!));
        Assert.Same(h, sub.Inputs[0]);
        Assert.Equal(DataType.Float16, CastTo(sub.Inputs[1]!.Producer!));
        Assert.Same(mean.Outputs[0], sub.Inputs[1]!.Producer!.Inputs[0]);

        // x→fp16 at the input, h→fp32 into the island, mean→fp16 out of it, y→fp32 at the output
        Assert.Equal(4, Casts(graph).Count);
        Assert.Equal(4, result.Counters["casts-inserted"]);
        Assert.Same(y, graph.Outputs[0].Producer!.Inputs[0]);
        AssertSameOutputs(before, OrtRunner.Run(model, inputs), 1e-2);
    }

    [Fact]
    public void Shares_one_cast_per_value_and_type()
    {
        var (model, h, _) = MatMulNormMatMul();
        var graph = model.Graph;
        var second = graph.Create("ReduceMean", [h], attributes: [IrAttribute.IntList("axes", [1]), IrAttribute.Int("keepdims", 1)], anchor: graph.Nodes.Single(n => n.Is("Sub")), nameHint: "mean2").Outputs[0];
        var sub = graph.Nodes.Single(n => n.Is("Sub"));
        var both = graph.Create("Add", [sub.Inputs[1], second], anchor: sub, nameHint: "sum").Outputs[0];
        sub.SetInput(1, both);
        var inputs = new[] { OrtRunner.RandomFloats([2, 8], 8) };
        var before = OrtRunner.Run(model, inputs);

        new ToFp16Pass().Run(model);

        var castsOfH = Casts(graph).Where(c => ReferenceEquals(c.Inputs[0], h)).ToList();
        Assert.Single(castsOfH);
        Assert.All(graph.Nodes.Where(n => n.Is("ReduceMean")), n => Assert.Same(castsOfH[0].Outputs[0], n.Inputs[0]));

        // the Add of the two means joins the float32 island: one Cast leaves it, none enters
        var add = graph.Nodes.Single(n => n.Name.StartsWith("sum", StringComparison.Ordinal));
        Assert.All(add.Inputs, i => Assert.Equal(DataType.Float, TypeConsistencyChecker.Check(model).TypeOf(i!)));
        Assert.DoesNotContain(Casts(graph), c => c.Inputs[0]!.Producer is { } p && p.Is("Cast"));
        AssertSameOutputs(before, OrtRunner.Run(model, inputs), 1e-2);
    }

    [Fact]
    public void Without_keep_io_types_inputs_and_outputs_become_fp16()
    {
        var (model, _, _) = MatMulNormMatMul();
        var inputs = new[] { OrtRunner.RandomFloats([2, 8], 9) };
        var before = OrtRunner.Run(model, inputs);

        new ToFp16Pass(new Fp16Options { KeepIoTypes = false }).Run(model);

        var graph = model.Graph;
        Assert.Equal(DataType.Float16, graph.Inputs[0].Type!.ElementType);
        Assert.Equal(DataType.Float16, graph.Outputs[0].Type!.ElementType);
        Assert.Equal(2, Casts(graph).Count);
        var after = OrtRunner.Run(model, inputs);
        Assert.Equal(DataType.Float16, after[0].Type);
        AssertSameOutputs(before, after, 1e-2);
    }

    [Fact]
    public void An_out_of_range_initializer_stays_float32_with_its_consumer_and_is_reported()
    {
        var (model, _, _) = MatMulNormMatMul(biasValue: 1e6f);
        var inputs = new[] { OrtRunner.RandomFloats([2, 8], 10) };
        var before = OrtRunner.Run(model, inputs);

        var result = new ToFp16Pass().Run(model);

        var graph = model.Graph;
        Assert.Equal(DataType.Float, graph.FindInitializer("B")!.Initializer!.Type);
        Assert.Equal(DataType.Float16, graph.FindInitializer("W2")!.Initializer!.Type);
        var add = graph.Nodes.Single(n => n.Is("Add"));
        Assert.Same(graph.Outputs[0], add.Outputs[0]);
        Assert.Equal(DataType.Float, CastTo(add.Inputs[0]!.Producer!));
        Assert.Equal(1, result.Counters["constants-kept-out-of-range"]);
        Assert.Contains(result.Notes, n => n.Contains("'B'", StringComparison.Ordinal) && n.Contains("kept float32", StringComparison.Ordinal));
        AssertSameOutputs(before, OrtRunner.Run(model, inputs), 1e-2);
    }

    [Fact]
    public void A_fill_beyond_fp16_keeps_the_constant_of_shape_and_its_reader_in_float32()
    {
        var graph = new Graph("g");
        var model = new Model(graph);
        model.OpsetImports[""] = 17;
        var x = graph.AddInput("x", TypeInfo.OfTensor(DataType.Float, [2, 8]));
        var w = graph.AddInitializer(OrtRunner.RandomFloats([8, 8], 14), "W");
        var h = graph.Create("MatMul", [x, w]).Outputs[0];
        var shape = graph.AddInitializer(Tensor.FromInt64s([2], [2, 8]), "shape");
        var mask = graph.Create("ConstantOfShape", [shape], attributes: [IrAttribute.TensorValue("value", Tensor.FromFloats([1], [float.MinValue]))]).Outputs[0];
        var masked = graph.Create("Add", [h, mask], nameHint: "masked").Outputs[0];
        var y = graph.Create("MatMul", [graph.Create("Softmax", [masked]).Outputs[0], w]).Outputs[0];
        y.Type = TypeInfo.OfTensor(DataType.Float, [2, 8]);
        graph.Outputs.Add(y);
        var inputs = new[] { OrtRunner.RandomFloats([2, 8], 15) };
        var before = OrtRunner.Run(model, inputs);

        var result = new ToFp16Pass().Run(model);

        var types = TypeConsistencyChecker.Check(model);
        Assert.Equal(DataType.Float, graph.Nodes.Single(n => n.Is("ConstantOfShape")).Attributes["value"].T!.Type);
        Assert.Equal(DataType.Float, types.TypeOf(masked));
        Assert.Equal(DataType.Float16, types.TypeOf(h));
        Assert.Contains(result.Notes, n => n.Contains(mask.Name, StringComparison.Ordinal) && n.Contains("kept float32", StringComparison.Ordinal));
        AssertSameOutputs(before, OrtRunner.Run(model, inputs), 1e-2);
    }

    [Theory]
    [InlineData(65519f, DataType.Float16)]
    [InlineData(65520f, DataType.Float)]
    public void An_initializer_is_converted_unless_a_value_rounds_to_fp16_infinity(float value, DataType expected)
    {
        var (model, _, _) = MatMulNormMatMul(biasValue: value);

        new ToFp16Pass().Run(model);

        var b = model.Graph.FindInitializer("B")!.Initializer!;
        Assert.Equal(expected, b.Type);
        Assert.Equal(expected == DataType.Float16 ? 65504.0 : value, b.ToDoubleArray()[0]);
    }

    [Fact]
    public void Clamping_converts_an_out_of_range_initializer_to_the_largest_fp16()
    {
        var (model, _, _) = MatMulNormMatMul(biasValue: 1e6f);

        var result = new ToFp16Pass(new Fp16Options { ClampOutOfRange = true }).Run(model);

        var b = model.Graph.FindInitializer("B")!.Initializer!;
        Assert.Equal(DataType.Float16, b.Type);
        Assert.Equal([65504.0, -65504.0, 0.25, 1.0], b.ToDoubleArray());
        Assert.Contains(result.Notes, n => n.Contains("clamped", StringComparison.Ordinal));
    }

    [Fact]
    public void A_blocked_node_name_computes_in_float32()
    {
        var (model, _, _) = MatMulNormMatMul();
        var inputs = new[] { OrtRunner.RandomFloats([2, 8], 11) };
        var before = OrtRunner.Run(model, inputs);
        var name = model.Graph.Nodes.Single(n => n.OpType == "MatMul" && n.Name.StartsWith("mm2", StringComparison.Ordinal)).Name;

        new ToFp16Pass(new Fp16Options { NodeBlockList = new HashSet<string> { name } }).Run(model);

        var mm2 = model.Graph.Nodes.Single(n => n.Name == name);
        var types = TypeConsistencyChecker.Check(model);
        Assert.Equal(DataType.Float, types.TypeOf(mm2.Outputs[0]));
        Assert.Equal(DataType.Float, types.TypeOf(mm2.Inputs[1]!));
        Assert.Equal(DataType.Float16, types.TypeOf(model.Graph.Nodes.Single(n => n.Name.StartsWith("mm1", StringComparison.Ordinal)).Outputs[0]));
        AssertSameOutputs(before, OrtRunner.Run(model, inputs), 1e-2);
    }

    [Fact]
    public void Retypes_casts_and_constant_of_shape_without_chaining_casts()
    {
        var graph = new Graph("g");
        var model = new Model(graph);
        model.OpsetImports[""] = 17;
        var x = graph.AddInput("x", TypeInfo.OfTensor(DataType.Float, [2, 8]));
        var w = graph.AddInitializer(OrtRunner.RandomFloats([8, 8], 3), "W");
        var k = graph.AddInput("k", TypeInfo.OfTensor(DataType.Int64, [1]));
        var h = graph.Create("MatMul", [x, w]).Outputs[0];
        var shape = graph.Create("Shape", [h]).Outputs[0];
        var fill = graph.Create("ConstantOfShape", [shape], attributes: [IrAttribute.TensorValue("value", Tensor.FromFloats([1], [1.5f]))]).Outputs[0];
        var kf = graph.Create("Cast", [k], attributes: [IrAttribute.Int("to", (long)DataType.Float)]).Outputs[0];
        var a = graph.Create("Add", [h, fill]).Outputs[0];
        var scaled = graph.Create("Mul", [a, kf]).Outputs[0];
        var y = graph.Create("MatMul", [scaled, w]).Outputs[0];
        var s = graph.Create("Sin", [kf]).Outputs[0];
        var z = graph.Create("Add", [y, s]).Outputs[0];
        z.Type = TypeInfo.OfTensor(DataType.Float, [2, 8]);
        graph.Outputs.Add(z);
        var inputs = new[] { OrtRunner.RandomFloats([2, 8], 12), Tensor.FromInt64s([1], [3]) };
        var before = OrtRunner.Run(model, inputs);

        new ToFp16Pass().Run(model);

        var constantOfShape = graph.Nodes.Single(n => n.Is("ConstantOfShape"));
        Assert.Equal(DataType.Float16, constantOfShape.Attributes["value"].T!.Type);
        Assert.Equal([1.5], constantOfShape.Attributes["value"].T!.ToDoubleArray());

        // k feeds the fp16 Mul and the float32 Sin: two casts of the int64 source, never a Cast of a Cast
        var castsOfK = Casts(graph).Where(c => ReferenceEquals(c.Inputs[0], k)).Select(CastTo).Order().ToList();
        Assert.Equal([DataType.Float, DataType.Float16], castsOfK);
        Assert.DoesNotContain(Casts(graph), c => c.Inputs[0]!.Producer is { } p && p.Is("Cast"));
        AssertSameOutputs(before, OrtRunner.Run(model, inputs), 1e-2);
    }

    [Fact]
    public void An_untyped_custom_op_output_keeps_its_readers_in_float32()
    {
        var graph = new Graph("g");
        var model = new Model(graph);
        model.OpsetImports[""] = 17;
        model.OpsetImports["custom"] = 1;
        var x = graph.AddInput("x", TypeInfo.OfTensor(DataType.Float, [2, 8]));
        var w = graph.AddInitializer(OrtRunner.RandomFloats([8, 8], 22), "W");
        var h = graph.Create("MatMul", [x, w]).Outputs[0];
        var custom = graph.Create("Foo", [x], domain: "custom");
        var add = graph.Create("Add", [h, custom.Outputs[0]]);
        var y = graph.Create("MatMul", [add.Outputs[0], w]).Outputs[0];
        y.Type = TypeInfo.OfTensor(DataType.Float, [2, 8]);
        graph.Outputs.Add(y);

        new ToFp16Pass().Run(model);

        var types = TypeConsistencyChecker.Check(model);
        Assert.True(types.Ok);
        Assert.Same(x, custom.Inputs[0]);
        Assert.Same(custom.Outputs[0], add.Inputs[1]);
        Assert.Equal(DataType.Float16, types.TypeOf(h));
        Assert.Equal(DataType.Float, types.TypeOf(add.Inputs[0]!));
        Assert.Equal(DataType.Float16, types.TypeOf(graph.Nodes.Last(n => n.Is("MatMul")).Inputs[0]!));
    }

    [Fact]
    public void Retargets_the_dtype_of_eye_like()
    {
        var graph = new Graph("g");
        var model = new Model(graph);
        model.OpsetImports[""] = 17;
        var x = graph.AddInput("x", TypeInfo.OfTensor(DataType.Float, [8, 8]));
        var w = graph.AddInitializer(OrtRunner.RandomFloats([8, 8], 20), "W");
        var h = graph.Create("MatMul", [x, w]).Outputs[0];
        var eye = graph.Create("EyeLike", [h], attributes: [IrAttribute.Int("dtype", (long)DataType.Float)]);
        var sum = graph.Create("Add", [h, eye.Outputs[0]]).Outputs[0];
        var y = graph.Create("MatMul", [sum, w]).Outputs[0];
        y.Type = TypeInfo.OfTensor(DataType.Float, [8, 8]);
        graph.Outputs.Add(y);
        var inputs = new[] { OrtRunner.RandomFloats([8, 8], 21) };
        var before = OrtRunner.Run(model, inputs);

        new ToFp16Pass().Run(model);

        Assert.Equal((long)DataType.Float16, eye.GetInt("dtype", 0));
        Assert.Same(eye.Outputs[0], graph.Nodes.Single(n => n.Is("Add")).Inputs[1]);
        AssertSameOutputs(before, OrtRunner.Run(model, inputs), 1e-2);
    }

    [Fact]
    public void Converts_inside_if_branches_and_keeps_the_if_interface_float32()
    {
        var graph = new Graph("g");
        var model = new Model(graph);
        model.OpsetImports[""] = 17;
        var x = graph.AddInput("x", TypeInfo.OfTensor(DataType.Float, [2, 8]));
        var cond = graph.AddInput("cond", TypeInfo.OfTensor(DataType.Bool, Array.Empty<long>()));
        var w = graph.AddInitializer(OrtRunner.RandomFloats([8, 8], 4), "W");
        Graph Branch(string name, int seed)
        {
            var branch = new Graph(name, graph);
            var local = branch.AddInitializer(OrtRunner.RandomFloats([8, 8], seed), name + "_W");
            var inner = branch.Create("MatMul", [x, local], nameHint: name + "_mm").Outputs[0];
            var outer = branch.Create("MatMul", [inner, w], nameHint: name + "_mm2").Outputs[0];
            outer.Type = TypeInfo.OfTensor(DataType.Float, [2, 8]);
            branch.Outputs.Add(outer);
            return branch;
        }

        var ifNode = graph.Create("If", [cond], attributes: [IrAttribute.GraphValue("then_branch", Branch("then", 5)), IrAttribute.GraphValue("else_branch", Branch("else", 6))]);
        var y = graph.Create("Relu", [ifNode.Outputs[0]]).Outputs[0];
        y.Type = TypeInfo.OfTensor(DataType.Float, [2, 8]);
        graph.Outputs.Add(y);
        var xs = OrtRunner.RandomFloats([2, 8], 13);
        Tensor Flag(bool b) => new(DataType.Bool, [], TensorData.FromBytes([(byte)(b ? 1 : 0)]));
        var beforeThen = OrtRunner.Run(model, [xs, Flag(true)]);
        var beforeElse = OrtRunner.Run(model, [xs, Flag(false)]);

        var result = new ToFp16Pass().Run(model);

        Assert.True(result.Modified);
        var thenBranch = ifNode.Attributes["then_branch"].G!;
        Assert.Equal(DataType.Float16, thenBranch.FindInitializer("then_W")!.Initializer!.Type);
        Assert.Equal(DataType.Float, thenBranch.Outputs[0].Type!.ElementType);
        Assert.True(thenBranch.Outputs[0].Producer!.Is("Cast"));
        Assert.Equal(DataType.Float16, TypeConsistencyChecker.Check(model).TypeOf(thenBranch.Nodes.Single(n => n.Name.StartsWith("then_mm2", StringComparison.Ordinal)).Outputs[0]));
        AssertSameOutputs(beforeThen, OrtRunner.Run(model, [xs, Flag(true)]), 1e-2);
        AssertSameOutputs(beforeElse, OrtRunner.Run(model, [xs, Flag(false)]), 1e-2);
    }

    [Fact]
    public void Converts_a_loop_body_with_casts_at_its_float32_formal_inputs_and_outputs()
    {
        var graph = new Graph("g");
        var model = new Model(graph);
        model.OpsetImports[""] = 17;
        var x = graph.AddInput("x", TypeInfo.OfTensor(DataType.Float, [2, 8]));
        var w = graph.AddInitializer(OrtRunner.RandomFloats([8, 8], 16, 0.5f), "W");
        var trips = graph.AddInitializer(Tensor.FromInt64s([], [3]), "trips");
        var start = graph.Create("MatMul", [x, w]).Outputs[0];
        var body = new Graph("body", graph);
        body.AddInput("i", TypeInfo.OfTensor(DataType.Int64, Array.Empty<long>()));
        var cond = body.AddInput("cond", TypeInfo.OfTensor(DataType.Bool, Array.Empty<long>()));
        var carried = body.AddInput("carried", TypeInfo.OfTensor(DataType.Float, [2, 8]));
        var next = body.Create("MatMul", [carried, w], nameHint: "step").Outputs[0];
        var condOut = body.Create("Identity", [cond]).Outputs[0];
        condOut.Type = TypeInfo.OfTensor(DataType.Bool, Array.Empty<long>());
        next.Type = TypeInfo.OfTensor(DataType.Float, [2, 8]);
        body.Outputs.Add(condOut);
        body.Outputs.Add(next);
        var loop = graph.Create("Loop", [trips, null, start], attributes: [IrAttribute.GraphValue("body", body)]);
        var y = loop.Outputs[0];
        y.Type = TypeInfo.OfTensor(DataType.Float, [2, 8]);
        graph.Outputs.Add(y);
        var inputs = new[] { OrtRunner.RandomFloats([2, 8], 17) };
        var before = OrtRunner.Run(model, inputs);

        new ToFp16Pass().Run(model);

        var types = TypeConsistencyChecker.Check(model);
        Assert.True(types.Ok);
        Assert.Equal(DataType.Float, types.TypeOf(loop.Inputs[2]!));
        var step = body.Nodes.Single(n => n.Is("MatMul"));
        Assert.Equal(DataType.Float16, types.TypeOf(step.Outputs[0]));
        Assert.Same(carried, step.Inputs[0]!.Producer!.Inputs[0]);
        Assert.Equal(DataType.Float, body.Outputs[1].Type!.ElementType);
        AssertSameOutputs(before, OrtRunner.Run(model, inputs), 1e-2);

        // the checker sees a carried value whose types disagree across the loop's interface
        carried.Type = TypeInfo.OfTensor(DataType.Float16, [2, 8]);
        Assert.Contains(TypeConsistencyChecker.Check(model).Problems, p => p.Contains("carried input 2", StringComparison.Ordinal));
    }

    [Fact]
    public void Converts_to_bf16_with_consistent_types()
    {
        var (model, _, _) = MatMulNormMatMul();

        var result = new ToFp16Pass(new Fp16Options { Target = HalfType.Bf16 }).Run(model);

        Assert.True(result.Modified);
        Assert.All(model.Graph.Initializers, w => Assert.Equal(DataType.BFloat16, w.Initializer!.Type));
        Assert.True(TypeConsistencyChecker.Check(model).Ok);
        Assert.Equal(BitConverter.SingleToUInt32Bits(0.25f) >> 16, (uint)model.Graph.FindInitializer("B")!.Initializer!.Data.Span[4] | ((uint)model.Graph.FindInitializer("B")!.Initializer!.Data.Span[5] << 8));
    }

    [Fact]
    public void A_bf16_conversion_keeps_ops_without_bfloat16_in_their_schema_in_float32()
    {
        using var model = OnnxReader.Load(Fixtures.Model("tiny_unet_dynamo18_fp32"));

        new ToFp16Pass(new Fp16Options { Target = HalfType.Bf16 }).Run(model);

        var types = TypeConsistencyChecker.Check(model);
        Assert.True(types.Ok);
        Assert.All(model.Graph.Nodes.Where(n => n.Is("Conv") || n.Is("Einsum")), n => Assert.Equal(DataType.Float, types.TypeOf(n.Inputs[0]!)));
        Assert.Contains(model.Graph.Nodes, n => n.Is("MatMul") && types.TypeOf(n.Inputs[0]!) == DataType.BFloat16);
        using var temp = Fixtures.Temp();
        OnnxWriter.Save(model, temp.File("bf16.onnx"));

        // ONNX Runtime checks every node's types against its schema when it loads a model; its CPU
        // provider lacks some bf16 kernels (Gemm), which is no fault of the graph
        var error = Record.Exception(() => new Microsoft.ML.OnnxRuntime.InferenceSession(temp.File("bf16.onnx")).Dispose());
        Assert.True(error is null || !error.Message.Contains("Type Error", StringComparison.Ordinal), error?.Message);
    }

    [Fact]
    public void The_type_checker_rejects_mismatched_inputs_and_a_declared_type_the_producer_does_not_make()
    {
        var graph = new Graph("g");
        var model = new Model(graph);
        model.OpsetImports[""] = 17;
        var a = graph.AddInput("a", TypeInfo.OfTensor(DataType.Float, [2]));
        var b = graph.AddInput("b", TypeInfo.OfTensor(DataType.Float16, [2]));
        var sum = graph.Create("Add", [a, b]).Outputs[0];
        var cast = graph.Create("Cast", [sum], attributes: [IrAttribute.Int("to", (long)DataType.Float16)]).Outputs[0];
        cast.Type = TypeInfo.OfTensor(DataType.Float, [2]);
        graph.Outputs.Add(cast);

        var problems = TypeConsistencyChecker.Check(model).Problems;

        Assert.Equal(2, problems.Count);
        Assert.Contains("input 1 'b' is float16 but input 0 'a' is float", problems[0], StringComparison.Ordinal);
        Assert.Contains("declared float but", problems[1], StringComparison.Ordinal);
        Assert.Contains("some-pass left the graph type-inconsistent", Assert.Throws<PassFailedException>(() => TypeConsistencyChecker.Ensure(model, "some-pass")).Message, StringComparison.Ordinal);
        Assert.Contains("before any conversion", Assert.Throws<PassFailedException>(() => new ToFp16Pass().Run(model)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parses_op_lists_as_a_replacement_or_as_edits_of_the_default()
    {
        Assert.Equal(["Softmax", "Sqrt"], Fp16Options.ParseOpList("Sqrt, Softmax"));
        var edited = Fp16Options.ParseOpList("+Softmax,-Sin");
        Assert.Contains("Softmax", edited);
        Assert.DoesNotContain("Sin", edited);
        Assert.Contains("ReduceMean", edited);
        Assert.Throws<ForgeInputException>(() => Fp16Options.ParseOpList("+Softmax,Sin"));
    }

    [Theory]
    [InlineData("tiny_unet_opset12_fp32")]
    [InlineData("tiny_vae_decoder_opset12_fp32")]
    [InlineData("tiny_unet_dynamo18_fp32")]
    public void A_float32_fixture_runs_in_fp16_within_tolerance_at_half_the_weight_bytes(string fixture)
    {
        var inputs = OrtRunner.TestInputs(Fixtures.Dir(fixture));
        var expected = OrtRunner.TestOutput(Fixtures.Dir(fixture));
        using var model = OnnxReader.Load(Fixtures.Model(fixture));
        var castPairsBefore = CastPairs(model.Graph);

        var result = new ToFp16Pass().Run(model);

        Assert.True(result.Modified);
        var types = TypeConsistencyChecker.Check(model);
        Assert.True(types.Ok);
        Assert.True(CastPairs(model.Graph) <= castPairsBefore);
        Assert.DoesNotContain(model.Graph.AllNodes(), n => n.Is("Cast") && types.TypeOf(n.Inputs[0]!) == CastTo(n));
        Assert.True(result.Counters["weight-bytes-after"] <= 0.52 * result.Counters["weight-bytes-before"]);
        Assert.All(model.Graph.Inputs.Concat(model.Graph.Outputs), v => Assert.Equal(DataType.Float, v.Type!.ElementType));
        var got = OrtRunner.Run(model, inputs);
        Assert.False(OrtRunner.HasNonFinite(got[0]));
        var rel = OrtRunner.RelativeL2(got[0], expected);
        Assert.True(rel <= 1e-2, $"relative L2 {rel:E3}");
    }

    [Fact]
    public void Converting_twice_gives_the_same_bytes_and_converting_the_result_again_changes_nothing()
    {
        using var temp = Fixtures.Temp();
        foreach (var name in new[] { "a.onnx", "b.onnx" })
        {
            using var model = OnnxReader.Load(Fixtures.Model("tiny_vae_decoder_opset12_fp32"));
            new ToFp16Pass().Run(model);
            OnnxWriter.Save(model, temp.File(name));
        }

        Assert.Equal(File.ReadAllBytes(temp.File("a.onnx")), File.ReadAllBytes(temp.File("b.onnx")));
        using var converted = OnnxReader.Load(temp.File("a.onnx"));
        Assert.False(new ToFp16Pass().Run(converted).Modified);
    }

    [Theory]
    [InlineData("tiny_unet_opset12_fp16")]
    [InlineData("tiny_unet_opset12_fp16_aten")]
    public void An_fp16_export_is_left_unchanged(string fixture)
    {
        using var model = OnnxReader.Load(Fixtures.Model(fixture));
        var census = model.Graph.OpCensus();

        var result = new ToFp16Pass().Run(model);

        Assert.False(result.Modified);
        Assert.Equal(census, model.Graph.OpCensus());
        Assert.Contains("already computes in float16", Assert.Single(result.Notes), StringComparison.Ordinal);
    }

    /// <summary>1.5 Mi float32 values (more than one conversion piece) with every rounding edge: overflow, subnormals, NaN, ±0, ±inf.</summary>
    private static float[] EdgeValues()
    {
        var random = new Random(7);
        var values = new float[(3 << 20) / 2];
        float[] edges = [65504f, 65519.99f, 65520f, -65520f, 70000f, 3.4e38f, 6e-8f, 3e-8f, 1e-45f, -0f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, BitConverter.UInt32BitsToSingle(0x7FC12345)];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = i % 97 == 0 ? edges[i / 97 % edges.Length] : (float)(random.NextDouble() - 0.5) * MathF.Pow(2, random.Next(-30, 20));
        }

        return values;
    }

    [Theory]
    [InlineData(DataType.Float16, false)]
    [InlineData(DataType.Float16, true)]
    [InlineData(DataType.BFloat16, false)]
    [InlineData(DataType.BFloat16, true)]
    public void Lazy_conversion_of_a_file_backed_tensor_gives_the_eager_bytes_streamed_read_at_any_offset_or_spanned(DataType target, bool clamp)
    {
        using var temp = Fixtures.Temp();
        var values = EdgeValues();
        var graph = new Graph("g");
        var written = new Model(graph);
        written.OpsetImports[""] = 17;
        var w = graph.AddInitializer(Tensor.FromFloats([values.Length], values), "W");
        graph.Outputs.Add(w);
        OnnxWriter.Save(written, temp.File("w.onnx"), new SaveOptions { ExternalData = ExternalDataMode.Always });
        using var model = OnnxReader.Load(temp.File("w.onnx"));
        var mapped = model.Graph.Initializers.Single().Initializer!;
        Assert.IsNotType<ManagedTensorData>(mapped.Data);

        var eager = HalfConversion.Convert(Tensor.FromFloats([values.Length], values), target, clamp, "W").Data.Span.ToArray();
        var lazy = HalfConversion.ConvertLazy(mapped, target, clamp, "W");

        Assert.Equal(eager.Length, lazy.ByteLength);
        using (var stream = new MemoryStream())
        {
            lazy.Data.CopyTo(stream);
            Assert.Equal(eager, stream.ToArray());
        }

        foreach (var (offset, length) in new[] { (0L, 1), (1L, 2), (3L, eager.Length - 6), (2_097_151L, 5), ((long)eager.Length - 3, 3) })
        {
            var piece = new byte[length];
            lazy.Data.Read(offset, piece);
            Assert.Equal(eager.AsSpan((int)offset, length).ToArray(), piece);
        }

        Assert.Equal(eager, lazy.Data.Span.ToArray());
        Assert.Equal(values.Count(v => float.IsFinite(v) && HalfConversion.FromFloat(v, target) is 0x7C00 or 0xFC00 or 0x7F80 or 0xFF80), HalfConversion.CountOverflows(mapped, target));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_fp16_conversion_rounds_every_exponent_and_rounding_case_exactly_as_dotnet_half_does(bool clamp)
    {
        // both signs, every exponent (subnormals, NaN and infinity included), every top-10-bit mantissa,
        // and the low bits that decide rounding: below, at and above half an fp16 unit, odd and even
        uint[] lows = [0, 1, 0xFFF, 0x1000, 0x1001, 0x1FFF];
        var bits = new List<uint>();
        for (uint sign = 0; sign < 2; sign++)
        {
            for (uint exponent = 0; exponent < 256; exponent++)
            {
                for (uint top = 0; top < 1024; top++)
                {
                    foreach (var low in lows)
                    {
                        bits.Add((sign << 31) | (exponent << 23) | (top << 13) | low);
                    }
                }
            }
        }

        var values = bits.Select(BitConverter.UInt32BitsToSingle).ToArray();
        var converted = new ushort[values.Length];

        HalfConversion.ConvertPiece(values, converted, DataType.Float16, clamp);

        for (var i = 0; i < values.Length; i++)
        {
            var expected = BitConverter.HalfToUInt16Bits((Half)values[i]);
            if (clamp && (expected & 0x7FFF) == 0x7C00 && float.IsFinite(values[i]))
            {
                expected = (ushort)(0x7BFF | (expected & 0x8000));
            }

            if (converted[i] != expected)
            {
                Assert.Fail($"0x{bits[i]:X8} ({values[i]:R}): got 0x{converted[i]:X4}, (Half) gives 0x{expected:X4}");
            }
        }
    }

    [Fact]
    public void A_file_backed_model_converts_to_the_same_files_and_outputs_as_the_same_model_held_in_memory()
    {
        using var temp = Fixtures.Temp();
        const string fixture = "tiny_unet_opset12_fp32";
        using (var source = OnnxReader.Load(Fixtures.Model(fixture)))
        {
            OnnxWriter.Save(source, temp.File("source/model.onnx"), new SaveOptions { ExternalData = ExternalDataMode.Always });
        }

        // streamed: weights stay slices of the .data file and are converted while the writer copies them
        using (var streamed = OnnxReader.Load(temp.File("source/model.onnx")))
        {
            Assert.Contains(streamed.Graph.Initializers, v => v.Initializer!.Data is MappedTensorData { IsExternal: true });
            new ToFp16Pass().Run(streamed);
            Assert.Contains(streamed.Graph.Initializers, v => v.Initializer!.Data is HalfTensorData);
            OnnxWriter.Save(streamed, temp.File("streamed/model.onnx"), new SaveOptions { ExternalData = ExternalDataMode.Always });
        }

        // eager: the same weights copied into managed arrays first, converted at once
        using (var held = OnnxReader.Load(temp.File("source/model.onnx")))
        {
            foreach (var value in held.Graph.Initializers.ToList())
            {
                var t = value.Initializer!;
                held.Graph.SetInitializer(value, new Tensor(t.Type, t.Dims, TensorData.FromBytes(t.Data.Span.ToArray()), t.Name));
            }

            new ToFp16Pass().Run(held);
            Assert.DoesNotContain(held.Graph.Initializers, v => v.Initializer!.Data is HalfTensorData);
            OnnxWriter.Save(held, temp.File("held/model.onnx"), new SaveOptions { ExternalData = ExternalDataMode.Always });
        }

        Assert.Equal(File.ReadAllBytes(temp.File("held/model.onnx")), File.ReadAllBytes(temp.File("streamed/model.onnx")));
        Assert.Equal(File.ReadAllBytes(temp.File("held/model.onnx.data")), File.ReadAllBytes(temp.File("streamed/model.onnx.data")));
        var inputs = OrtRunner.TestInputs(Fixtures.Dir(fixture));
        var streamedOut = OrtRunner.Run(temp.File("streamed/model.onnx"), inputs);
        var heldOut = OrtRunner.Run(temp.File("held/model.onnx"), inputs);
        Assert.Equal(heldOut[0].Data.Span.ToArray(), streamedOut[0].Data.Span.ToArray());
        Assert.False(OrtRunner.HasNonFinite(streamedOut[0]));
        var rel = OrtRunner.RelativeL2(streamedOut[0], OrtRunner.TestOutput(Fixtures.Dir(fixture)));
        Assert.True(rel <= 1e-2, $"relative L2 {rel:E3}");
    }

    [Fact]
    public void A_float32_model_with_an_fp16_input_cast_to_float_is_still_converted()
    {
        var (model, h, _) = MatMulNormMatMul();
        var graph = model.Graph;
        var extra = graph.AddInput("extra", TypeInfo.OfTensor(DataType.Float16, [2, 8]));
        var mm1 = h.Producer!;
        var passed = graph.Create("Identity", [extra], anchor: mm1).Outputs[0];
        var widened = graph.Create("Cast", [passed], attributes: [IrAttribute.Int("to", (long)DataType.Float)], anchor: mm1).Outputs[0];
        var sum = graph.Create("Add", [mm1.Inputs[0], widened], anchor: mm1).Outputs[0];
        mm1.SetInput(0, sum);
        var inputs = new[] { OrtRunner.RandomFloats([2, 8], 18), OrtRunner.RandomFloats([2, 8], 19) };
        var before = OrtRunner.Run(model, inputs);

        var result = new ToFp16Pass().Run(model);

        Assert.True(result.Modified);
        Assert.Equal(DataType.Float16, TypeConsistencyChecker.Check(model).TypeOf(h));
        AssertSameOutputs(before, OrtRunner.Run(model, inputs), 1e-2);
    }

    /// <summary>
    /// x[1,3,6,6] → Conv(W) → BatchNormalization whose scale and var are computed (Abs of initializers), so
    /// they are values of their own the planner places, not constants that simply follow the BN → Relu.
    /// </summary>
    private static TinyModel ConvBatchNorm(long opset)
    {
        var m = new TinyModel(opset);
        var x = m.Input("x", DataType.Float, 1, 3, 6, 6);
        var w = m.Const(OrtRunner.RandomFloats([4, 3, 3, 3], 31), "W");
        var conv = m.Op("Conv", [x, w], IrAttribute.IntList("pads", [1, 1, 1, 1])).Outputs[0];
        var scale = m.Op("Abs", [m.Floats("s0", [4], 0.5f, -1.5f, 2f, 1f)]).Outputs[0];
        var bias = m.Floats("b", [4], 0.1f, -0.2f, 0.3f, 0f);
        var mean = m.Floats("mean", [4], 0.05f, -0.1f, 0.2f, 0f);
        var variance = m.Op("Abs", [m.Floats("v0", [4], 1.5f, -0.5f, 2.5f, 1f)]).Outputs[0];
        var bn = m.Op("BatchNormalization", [conv, scale, bias, mean, variance]).Outputs[0];
        var y = m.Op("Relu", [bn]).Outputs[0];
        m.Output(y, DataType.Float, 1, 4, 6, 6);
        return m;
    }

    [Theory]
    [InlineData(9, true)]
    [InlineData(9, false)]
    [InlineData(14, true)]
    [InlineData(15, true)]
    [InlineData(15, false)]
    public void Batch_normalization_inputs_get_one_type_at_every_opset_and_onnx_runtime_loads_the_result(long opset, bool blocked)
    {
        var m = ConvBatchNorm(opset);
        var ops = blocked ? Fp16Options.DefaultOpBlockList : Fp16Options.ParseOpList("-BatchNormalization");

        var (result, before, after) = m.RunPass(new ToFp16Pass(new Fp16Options { OpBlockList = ops }));

        Assert.True(result.Modified);
        var types = TypeConsistencyChecker.Check(m.Model);
        Assert.True(types.Ok, string.Join("; ", types.Problems));
        var bn = m.Graph.Nodes.Single(n => n.Is("BatchNormalization"));
        var expected = blocked ? DataType.Float : DataType.Float16;
        Assert.All(bn.Inputs, i => Assert.Equal(expected, types.TypeOf(i!)));
        Assert.Equal(DataType.Float16, types.TypeOf(m.Graph.Nodes.Single(n => n.Is("Conv")).Outputs[0]));
        AssertSameOutputs(before, after, 1e-2);
    }

    [Fact]
    public void The_type_checker_reads_batch_normalization_by_opset()
    {
        foreach (var (opset, consistent) in new[] { (9L, false), (14L, false), (15L, true) })
        {
            // X float, scale/B float16, mean/var float16: only opset 15's T1/T2 allow it
            var m = new TinyModel(opset);
            var x = m.Input("x", DataType.Float, 1, 2, 2, 2);
            var half = Enumerable.Range(0, 4).Select(i => m.Const(new Tensor(DataType.Float16, [2], TensorData.FromBytes(new byte[4])), "p" + i)).ToArray();
            var y = m.Op("BatchNormalization", [x, .. half]).Outputs[0];
            m.Output(y, DataType.Float, 1, 2, 2, 2);

            var types = TypeConsistencyChecker.Check(m.Model);

            Assert.True(consistent == types.Ok, $"opset {opset}: {string.Join("; ", types.Problems)}");
        }
    }

    [Theory]
    [InlineData(11, DataType.Float)]
    [InlineData(12, DataType.Int64)]
    public void A_computed_pow_exponent_takes_the_base_type_before_opset_12_and_is_left_alone_after(long opset, DataType exponentType)
    {
        // x → MatMul → Pow(·, e) with e = Abs(c); Pow is block-listed (float32) while Abs is free to go fp16:
        // Pow-7 ties e to the float32 base, Pow-12 lets it be any numeric type
        var m = new TinyModel(opset);
        var x = m.Input("x", DataType.Float, 2, 4);
        var h = m.Op("MatMul", [x, m.Const(OrtRunner.RandomFloats([4, 4], 41), "W")]).Outputs[0];
        var c = exponentType == DataType.Float ? m.Floats("c", [1], 2f) : m.Int64s("c", 2);
        var e = m.Op("Abs", [c]).Outputs[0];
        var p = m.Op("Pow", [h, e]).Outputs[0];
        m.Output(p, DataType.Float, 2, 4);

        var (_, before, after) = m.RunPass(new ToFp16Pass());

        var types = TypeConsistencyChecker.Check(m.Model);
        Assert.True(types.Ok, string.Join("; ", types.Problems));
        var pow = m.Graph.Nodes.Single(n => n.Is("Pow"));
        Assert.Equal(DataType.Float, types.TypeOf(pow.Inputs[0]!));
        Assert.Equal(exponentType, types.TypeOf(pow.Inputs[1]!));
        Assert.Equal(DataType.Float16, types.TypeOf(m.Graph.Nodes.Single(n => n.Is("MatMul")).Outputs[0]));
        AssertSameOutputs(before, after, 1e-2);
    }

    /// <summary>
    /// A small CNN with large weights: x[1,3,8,8] → Conv(W1≈±60) → Relu → Conv(W2≈±100) → Relu →
    /// Transpose → Transpose → Conv(W3≈±1e-4) → y. Every weight fits fp16, but the second Conv's activations reach ~1e5,
    /// past 65504, so in fp16 they become infinities and the output NaN or infinite. (ONNX Runtime's CPU
    /// provider runs fp16 Conv/Relu in float32 behind Casts it inserts, and a lone fp16 node between such
    /// islands too; the two Transposes, which have fp16 kernels, hold the activations in fp16 as TensorRT's
    /// fp16 kernels would.)
    /// </summary>
    internal static TinyModel OverflowingCnn()
    {
        var m = new TinyModel(13);
        var x = m.Input("x", DataType.Float, 1, 3, 8, 8);
        Value Conv(Value input, int seed, long inC, long outC, float scale) =>
            m.Op("Conv", [input, m.Const(OrtRunner.RandomFloats([outC, inC, 3, 3], seed, scale), "W" + seed)], IrAttribute.IntList("pads", [1, 1, 1, 1])).Outputs[0];
        var h1 = m.Op("Relu", [Conv(x, 51, 3, 4, 60f)]).Outputs[0];
        var h2 = m.Op("Relu", [Conv(h1, 52, 4, 4, 100f)]).Outputs[0];
        var t1 = m.Op("Transpose", [h2], IrAttribute.IntList("perm", [0, 1, 3, 2])).Outputs[0];
        var t2 = m.Op("Transpose", [t1], IrAttribute.IntList("perm", [0, 1, 3, 2])).Outputs[0];
        var y = Conv(t2, 53, 4, 2, 1e-4f);
        m.Output(y, DataType.Float, 1, 2, 8, 8);
        return m;
    }

    /// <summary>The largest magnitude of every node output, measured by running a copy of the model with all of them fetched.</summary>
    internal static Dictionary<string, double> MeasuredRanges(Func<TinyModel> build, IReadOnlyList<Tensor> inputs)
    {
        var probe = build();
        var values = probe.Graph.Nodes.SelectMany(n => n.Outputs).Where(v => !probe.Graph.Outputs.Contains(v)).ToList();
        foreach (var v in values)
        {
            v.Type = TypeInfo.OfTensor(DataType.Float);
            probe.Graph.Outputs.Add(v);
        }

        var outputs = OrtRunner.Run(probe.Model, inputs);
        return probe.Graph.Outputs.Select((v, i) => (v.Name, Max: outputs[i].ToDoubleArray().Max(Math.Abs))).ToDictionary(p => p.Name, p => p.Max);
    }

    [Fact]
    public void Measured_activations_beyond_fp16_range_keep_their_convs_in_float32_and_the_output_finite()
    {
        var plain = OverflowingCnn();
        var inputs = plain.RandomInputs();
        var before = plain.RunOrt(inputs);
        var ranges = MeasuredRanges(OverflowingCnn, inputs);
        Assert.Contains(ranges.Values, r => r > 65504);

        // without the ranges the plan puts everything in fp16: the output overflows
        new ToFp16Pass().Run(plain.Model);
        var unguarded = plain.RunOrt(inputs)[0];
        Assert.True(OrtRunner.HasNonFinite(unguarded), $"the unguarded conversion should overflow: ranges {string.Join(", ", ranges.Select(r => $"{r.Key}={r.Value:G4}"))}; output max {unguarded.ToDoubleArray().Max(Math.Abs):G4}; {string.Join(",", plain.Ops)}");

        var guarded = OverflowingCnn();
        var result = new ToFp16Pass(new Fp16Options { ActivationRanges = ranges }).Run(guarded.Model);

        var types = TypeConsistencyChecker.Check(guarded.Model);
        var convs = guarded.Graph.Nodes.Where(n => n.Is("Conv")).ToList();
        Assert.Equal(DataType.Float16, types.TypeOf(convs[0].Outputs[0]));
        Assert.Equal(DataType.Float, types.TypeOf(convs[1].Outputs[0]));
        Assert.Equal(DataType.Float, types.TypeOf(convs[2].Inputs[0]!));
        Assert.All(guarded.Graph.Nodes.Where(n => n.Is("Transpose")), n => Assert.Equal(DataType.Float, types.TypeOf(n.Outputs[0])));
        Assert.True(result.Counters["nodes-kept-for-activation-range"] >= 2);
        Assert.Contains(result.Notes, n => n.Contains("measured beyond", StringComparison.Ordinal));
        AssertSameOutputs(before, guarded.RunOrt(inputs), 1e-2);
    }

    [Fact]
    public void Measured_activations_inside_the_range_change_nothing()
    {
        var (model, _, _) = MatMulNormMatMul();
        var (reference, _, _) = MatMulNormMatMul();
        var ranges = model.Graph.Nodes.SelectMany(n => n.Outputs).ToDictionary(v => v.Name, _ => 1000.0);

        var guarded = new ToFp16Pass(new Fp16Options { ActivationRanges = ranges }).Run(model);
        var plain = new ToFp16Pass().Run(reference);

        Assert.Equal(plain.Counters["nodes-half"], guarded.Counters["nodes-half"]);
        Assert.Equal(0, guarded.Counters["nodes-kept-for-activation-range"]);
        Assert.Equal(reference.Graph.Nodes.Select(n => n.OpType), model.Graph.Nodes.Select(n => n.OpType));
    }

    [Fact]
    public void A_constant_beyond_fp16_range_keeps_its_consumer_in_float32()
    {
        // y = MatMul(x, W) + B with |B| = 1e5: the Add stays float32 and B keeps its value
        var m = new TinyModel(13);
        var x = m.Input("x", DataType.Float, 2, 4);
        var h = m.Op("MatMul", [x, m.Const(OrtRunner.RandomFloats([4, 4], 61), "W")]).Outputs[0];
        var y = m.Op("Add", [h, m.Floats("B", [4], 1e5f, -1e5f, 1f, 2f)]).Outputs[0];
        m.Output(y, DataType.Float, 2, 4);

        var (result, before, after) = m.RunPass(new ToFp16Pass());

        var types = TypeConsistencyChecker.Check(m.Model);
        Assert.Equal(DataType.Float16, types.TypeOf(h));
        Assert.Equal(DataType.Float, types.TypeOf(m.Graph.Nodes.Single(n => n.Is("Add")).Outputs[0]));
        Assert.Equal(1, result.Counters["constants-kept-out-of-range"]);
        Assert.Equal(DataType.Float, m.Graph.Initializers.Single(v => v.Name == "B").Initializer!.Type);
        AssertSameOutputs(before, after, 1e-2);
    }

    [Theory]
    [InlineData("Celu", 13)]
    [InlineData("Range", 13)]
    [InlineData("CumSum", 13)]
    [InlineData("IsInf", 13)]
    public void Ops_whose_schema_lacks_float16_at_the_opset_stay_float32_even_off_the_block_list(string op, long opset)
    {
        // x[1,4] → MatMul → op → y: with an empty block list only the schema keeps the op in float32
        var m = new TinyModel(opset);
        var x = m.Input("x", DataType.Float, 1, 4);
        var a = m.Op("MatMul", [x, m.Const(OrtRunner.RandomFloats([4, 4], 71), "W")]).Outputs[0];
        var node = op switch
        {
            "Range" => m.Op("Range", [m.Floats("start", [], -3f), m.Op("ReduceMax", [a], IrAttribute.Int("keepdims", 0)).Outputs[0], m.Floats("delta", [], 0.5f)]),
            "CumSum" => m.Op("CumSum", [a, m.Const(Tensor.FromInt64s([], [0]), "axis")]),
            _ => m.Op(op, [a]),
        };
        var y = node.Outputs[0];
        if (op == "Range")
        {
            y.Type = TypeInfo.OfTensor(DataType.Float);
            m.Graph.Outputs.Add(y);
        }
        else
        {
            m.Output(y, op == "IsInf" ? DataType.Bool : DataType.Float, 1, 4);
        }

        var (_, before, after) = m.RunPass(new ToFp16Pass(new Fp16Options { OpBlockList = new HashSet<string>() }));

        var types = TypeConsistencyChecker.Check(m.Model);
        Assert.True(types.Ok, string.Join("; ", types.Problems));
        Assert.All(node.Inputs, i => Assert.NotEqual(DataType.Float16, types.TypeOf(i!)));
        Assert.Equal(DataType.Float16, types.TypeOf(a));
        TinyModel.AssertSame(before, after, op == "IsInf" ? 0 : 1e-2);
    }

    /// <summary>Casts that read another Cast's output.</summary>
    private static int CastPairs(Graph graph) =>
        graph.AllNodes().Count(n => n.Is("Cast") && n.Inputs[0]?.Producer is { } p && p.Is("Cast"));
}
