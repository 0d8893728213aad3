using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Ops;
using OnnxTrtForge.Core.Passes;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Tests.Passes;

/// <summary>
/// Type-invalid input is bad input (exit 2) before any pass, not a pass that failed (exit 3) once inference has typed
/// the graph: element-type attributes ONNX does not define, input counts an op's version never takes, and element
/// types that conflict in the computation. Declarations that only annotate stay lenient. Fuzz seed 7 cases 2, 53, 128
/// (Cast to -1 or 2^63-1), 425 (a Reshape left with one input), 1156 (a Reshape shape rewired to a float), 454, 1485,
/// 593, 2556 (Einsum, Mul, Add fed values of another computed type) ended in exit 3.
/// </summary>
public sealed class InputTypeAdmissionTests
{
    private static string Refused(Model model)
    {
        var e = Assert.Throws<ForgeInputException>(() => Optimizer.Optimize(model));
        Assert.Equal(2, e.ExitCode);
        Assert.DoesNotContain('\n', e.Message);
        return e.Message;
    }

    private static TinyModel CastTo(long to)
    {
        var m = new TinyModel(13);
        var cast = m.Op("Cast", [m.Input("x", DataType.Float, 2, 3)], Attribute.Int("to", to));
        cast.Name = "cast";
        m.Graph.Outputs.Add(cast.Outputs[0]);
        return m;
    }

    [Theory]
    [InlineData(long.MaxValue)]
    [InlineData(-1L)]
    [InlineData(0L)]
    [InlineData(27L)]
    public void A_cast_to_an_element_type_onnx_does_not_define_is_refused_naming_the_node(long to)
    {
        var message = Refused(CastTo(to).Model);

        Assert.Contains($"graph 'tiny': node 'cast' (Cast) attribute 'to' is {to}, which is not an ONNX element type", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cast_without_its_to_attribute_is_refused_and_a_cast_to_a_defined_type_is_admitted()
    {
        var m = new TinyModel(13);
        var cast = m.Op("Cast", [m.Input("x", DataType.Float, 2)]);
        cast.Name = "cast";
        m.Graph.Outputs.Add(cast.Outputs[0]);

        Assert.Contains("node 'cast' (Cast) has no 'to' attribute", Refused(m.Model), StringComparison.Ordinal);
        ModelAdmission.Check(CastTo((long)DataType.Float16).Model);
        ModelAdmission.Check(CastTo((long)DataType.BFloat16).Model);
    }

    [Theory]
    [InlineData("EyeLike", 1)]
    [InlineData("RandomNormalLike", 1)]
    [InlineData("RandomUniformLike", 1)]
    [InlineData("Multinomial", 1)]
    [InlineData("RandomNormal", 0)]
    [InlineData("RandomUniform", 0)]
    public void A_generator_whose_dtype_names_no_onnx_type_is_refused_and_a_defined_one_is_admitted(string op, int inputs)
    {
        Model Build(long dtype)
        {
            var m = new TinyModel(13);
            Value?[] args = inputs == 0 ? [] : [m.Input("x", DataType.Float, 2, 3)];
            var attributes = inputs == 0 ? new[] { Attribute.Int("dtype", dtype), Attribute.IntList("shape", [2, 3]) } : [Attribute.Int("dtype", dtype)];
            var node = m.Op(op, args, attributes);
            node.Name = "gen";
            m.Graph.Outputs.Add(node.Outputs[0]);
            return m.Model;
        }

        Assert.Contains($"node 'gen' ({op}) attribute 'dtype' is 99", Refused(Build(99)), StringComparison.Ordinal);
        ModelAdmission.Check(Build((long)DataType.Int32));
    }

    [Fact]
    public void Which_attributes_name_an_element_type_is_the_op_schema_tables_word()
    {
        var table = OpSchemas.Default;

        Assert.Equal(["to"], table.Find("", "Cast", 13)!.DataTypeAttributes.Select(a => a.Name));
        Assert.True(table.Find("", "Cast", 13)!.DataTypeAttributes[0].Required);
        Assert.True(table.Find("", "QuantizeLinear", 21)!.DataTypeAttributes[0].Admits(0));
        Assert.False(table.Find("", "EyeLike", 13)!.DataTypeAttributes[0].Admits(0));
        Assert.Empty(table.Find("", "Relu", 13)!.DataTypeAttributes);
    }

    /// <summary>Fuzz seed 7 case 425: a Reshape that lost its data input read its shape as data (exit 3 at the next Mul).</summary>
    [Theory]
    [InlineData("Reshape", 13, 1)]
    [InlineData("Unsqueeze", 13, 1)]
    [InlineData("Unsqueeze", 11, 2)]
    [InlineData("Squeeze", 11, 2)]
    [InlineData("Slice", 13, 2)]
    [InlineData("Slice", 9, 3)]
    [InlineData("Split", 11, 2)]
    [InlineData("Gather", 13, 1)]
    [InlineData("Expand", 13, 3)]
    [InlineData("Tile", 13, 3)]
    [InlineData("Range", 13, 2)]
    [InlineData("ConstantOfShape", 13, 2)]
    [InlineData("Clip", 9, 3)]
    [InlineData("ReduceMean", 13, 2)]
    [InlineData("Concat", 13, 0)]
    [InlineData("Einsum", 13, 0)]
    [InlineData("Resize", 11, 2)]
    [InlineData("Gemm", 9, 2)]
    public void A_node_with_an_input_count_its_ops_version_never_takes_is_refused_naming_the_node(string op, long opset, int inputs)
    {
        var m = new TinyModel(opset);
        var args = Enumerable.Range(0, inputs).Select(i => m.Input($"x{i}", DataType.Int64, 4)).ToArray();
        var node = m.Op(op, args);
        node.Name = "broken";
        m.Graph.Outputs.Add(node.Outputs[0]);

        var message = Refused(m.Model);

        Assert.Contains($"node 'broken' ({op}) has {inputs} input(s); the op takes", message, StringComparison.Ordinal);
        Assert.Contains($"at opset {opset}", message, StringComparison.Ordinal);
    }

    /// <summary>
    /// A node of every op whose input count ONNX changed across versions (or that the table now bounds), with the
    /// fewest and the most inputs it takes, at an opset on each side of the change: admitted. Inputs are typed by the
    /// op's type rule (T float, other slots int64 or as the rule says) so only the count is on trial.
    /// </summary>
    [Theory]
    [InlineData("Reshape", 1, 1, 1)]
    [InlineData("Reshape", 13, 2, 2)]
    [InlineData("Unsqueeze", 11, 1, 1)]
    [InlineData("Unsqueeze", 13, 2, 2)]
    [InlineData("Squeeze", 11, 1, 1)]
    [InlineData("Squeeze", 13, 1, 2)]
    [InlineData("Slice", 9, 1, 1)]
    [InlineData("Slice", 13, 3, 5)]
    [InlineData("Split", 11, 1, 1)]
    [InlineData("Split", 13, 1, 2)]
    [InlineData("Tile", 1, 3, 3)]
    [InlineData("Tile", 13, 2, 2)]
    [InlineData("Clip", 9, 1, 1)]
    [InlineData("Clip", 13, 1, 3)]
    [InlineData("Resize", 10, 2, 2)]
    [InlineData("Resize", 11, 3, 4)]
    [InlineData("Resize", 13, 1, 4)]
    [InlineData("ReduceSum", 11, 1, 1)]
    [InlineData("ReduceSum", 13, 1, 2)]
    [InlineData("ReduceMean", 13, 1, 1)]
    [InlineData("ReduceMean", 18, 1, 2)]
    [InlineData("Pad", 2, 1, 1)]
    [InlineData("Pad", 13, 2, 3)]
    [InlineData("Pad", 18, 2, 4)]
    [InlineData("Dropout", 10, 1, 1)]
    [InlineData("Dropout", 13, 1, 3)]
    [InlineData("TopK", 1, 1, 1)]
    [InlineData("TopK", 11, 2, 2)]
    [InlineData("Upsample", 7, 1, 1)]
    [InlineData("Upsample", 9, 2, 2)]
    [InlineData("Gemm", 9, 3, 3)]
    [InlineData("Gemm", 13, 2, 3)]
    [InlineData("Expand", 8, 2, 2)]
    [InlineData("Expand", 13, 2, 2)]
    [InlineData("Gather", 1, 2, 2)]
    [InlineData("Gather", 13, 2, 2)]
    [InlineData("GatherElements", 11, 2, 2)]
    [InlineData("GatherND", 13, 2, 2)]
    [InlineData("ConstantOfShape", 9, 1, 1)]
    [InlineData("ConstantOfShape", 20, 1, 1)]
    [InlineData("Range", 11, 3, 3)]
    [InlineData("Range", 20, 3, 3)]
    [InlineData("Concat", 4, 1, 5)]
    [InlineData("Concat", 13, 1, 5)]
    [InlineData("Einsum", 12, 1, 3)]
    [InlineData("Sum", 8, 1, 4)]
    [InlineData("LayerNormalization", 17, 2, 3)]
    [InlineData("Trilu", 14, 1, 2)]
    public void A_node_with_an_input_count_its_ops_version_takes_is_admitted(string op, long opset, int fewest, int most)
    {
        foreach (var count in new[] { fewest, most })
        {
            var m = new TinyModel(opset);
            var signature = OpSchemas.Default.Find("", op, opset)!.Types;
            var args = Enumerable.Range(0, count)
                .Select(i => m.Input($"x{i}", signature?.InputAt(i) is InputSlot.T or InputSlot.Float32 or InputSlot.T1 or InputSlot.T2 ? DataType.Float : DataType.Int64, 4))
                .ToArray();
            var node = m.Op(op, args);
            m.Graph.Outputs.Add(node.Outputs[0]);

            ModelAdmission.Check(m.Model);
        }
    }

    [Theory]
    [InlineData(11)]
    [InlineData(13)]
    public void Unsqueeze_squeeze_and_slice_in_the_form_of_either_side_of_opset_13_are_optimized_and_run(long opset)
    {
        var m = new TinyModel(opset);
        var x = m.Input("x", DataType.Float, 2, 3);
        var unsqueeze = opset >= 13 ? m.Op("Unsqueeze", [x, m.Int64s("ax", 0)]) : m.Op("Unsqueeze", [x], Attribute.IntList("axes", [0]));
        var squeeze = opset >= 13 ? m.Op("Squeeze", [unsqueeze.Outputs[0], m.Int64s("ax0", 0)]) : m.Op("Squeeze", [unsqueeze.Outputs[0]], Attribute.IntList("axes", [0]));
        var slice = m.Op("Slice", [squeeze.Outputs[0], m.Int64s("starts", 1), m.Int64s("ends", 3), m.Int64s("axes", 1), m.Int64s("steps", 1)]);
        var relu = m.Op("Relu", [slice.Outputs[0]]);
        m.Output(relu.Outputs[0], DataType.Float, 2, 2);
        var inputs = m.RandomInputs();
        var before = m.RunOrt(inputs);

        Optimizer.Optimize(m.Model);

        TinyModel.AssertSame(before, m.RunOrt(inputs));
    }

    /// <summary>Fuzz seed 7 case 1156: the shape of a Reshape rewired to a float value.</summary>
    [Fact]
    public void A_reshape_whose_computed_shape_is_float_is_refused_naming_the_node_and_both_types()
    {
        var m = new TinyModel(13);
        var x = m.Input("x", DataType.Float, 2, 3);
        var shape = m.Op("Add", [m.Floats("a", [2], 3, 2), m.Floats("b", [2], 0, 0)]);
        var reshape = m.Op("Reshape", [x, shape.Outputs[0]]);
        reshape.Name = "reshape";
        m.Output(reshape.Outputs[0], DataType.Float, 3, 2);

        var message = Refused(m.Model);

        Assert.Contains("graph 'tiny': element types conflict: Reshape('reshape'): input 1", message, StringComparison.Ordinal);
        Assert.Contains("must be int64 but is float", message, StringComparison.Ordinal);
    }

    /// <summary>Fuzz seed 7 cases 1485, 593, 2556, 454 and the Concat/Conv/InstanceNormalization classes: one type variable, two computed types.</summary>
    [Theory]
    [InlineData("Mul")]
    [InlineData("Add")]
    [InlineData("Einsum")]
    [InlineData("Concat")]
    [InlineData("Conv")]
    [InlineData("InstanceNormalization")]
    public void An_op_whose_inputs_of_one_type_variable_compute_to_different_types_is_refused_naming_the_node_and_both_types(string op)
    {
        var m = new TinyModel(13);
        var x = m.Input("x", DataType.Float, 1, 2, 4, 4);

        // a value every runtime types int64: the Shape of x, cast nowhere
        var shape = m.Op("Shape", [x]).Outputs[0];
        var ints = m.Op("Cast", [shape], Attribute.Int("to", (long)DataType.Int64)).Outputs[0];
        var node = op switch
        {
            "Einsum" => m.Op(op, [x, ints], Attribute.String("equation", "abcd,e->abcd")),
            "Concat" => m.Op(op, [x, ints], Attribute.Int("axis", 0)),
            "Conv" => m.Op(op, [x, ints]),
            "InstanceNormalization" => m.Op(op, [x, m.Floats("s", [2], 1, 1), ints]),
            _ => m.Op(op, [x, ints]),
        };
        node.Name = "mixed";
        m.Graph.Outputs.Add(node.Outputs[0]);

        var message = Refused(m.Model);

        Assert.Contains($"element types conflict: {op}('mixed'): input", message, StringComparison.Ordinal);
        Assert.Contains("is int64 but input 0 'x' is float", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_conflict_in_a_subgraph_names_the_subgraphs_place()
    {
        var m = new TinyModel(13);
        var c = m.Input("c", DataType.Bool);
        var x = m.Input("x", DataType.Float, 2);
        var branch = new Graph("then");
        var ints = branch.Create("Shape", [x]).Outputs[0];
        var add = branch.Create("Add", [x, ints]);
        add.Name = "inner";
        branch.Outputs.Add(add.Outputs[0]);
        var other = new Graph("else");
        var id = other.Create("Identity", [x]);
        other.Outputs.Add(id.Outputs[0]);
        var @if = m.Op("If", [c], Attribute.GraphValue("then_branch", branch), Attribute.GraphValue("else_branch", other));
        @if.Name = "if";
        m.Graph.Outputs.Add(@if.Outputs[0]);

        var e = Assert.Throws<ForgeInputException>(() => ModelAdmission.Check(m.Model));

        Assert.Contains("subgraph of 'if': element types conflict: Add('inner')", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Issue 13 item 1: a declaration that only annotates is dropped, not refused.</summary>
    [Fact]
    public void A_stale_value_info_upstream_of_a_well_typed_computation_is_not_refused()
    {
        var m = new TinyModel(13);
        var x = m.Input("x", DataType.Float, 2, 3);
        var relu = m.Op("Relu", [x]);
        relu.Outputs[0].Type = TypeInfo.OfTensor(DataType.Int64, [2, 3]);
        var add = m.Op("Add", [relu.Outputs[0], m.Floats("one", [1], 1)]);
        m.Output(add.Outputs[0], DataType.Float, 2, 3);

        var types = TypeConsistencyChecker.Check(m.Model);

        Assert.Contains(types.Found, p => p.Message.Contains("is declared int64", StringComparison.Ordinal) && !p.InComputation);
        Assert.Empty(types.Conflicts);
        ModelAdmission.Check(m.Model);
    }

    [Fact]
    public void A_conflict_through_the_declared_output_of_an_opaque_op_is_left_to_the_passes()
    {
        var m = new TinyModel(13);
        m.Model.OpsetImports["com.example"] = 1;
        var x = m.Input("x", DataType.Float, 2);
        var custom = m.Graph.Append(new Node("com.example", "Mystery", [x], ["y"], [], "mystery"));
        custom.Outputs[0].Type = TypeInfo.OfTensor(DataType.Int64, [2L]);
        var add = m.Op("Add", [custom.Outputs[0], x]);
        m.Graph.Outputs.Add(add.Outputs[0]);

        var types = TypeConsistencyChecker.Check(m.Model);

        Assert.Contains(types.Found, p => p.Message.Contains("input 0 'y' is int64 but input 1 'x' is float", StringComparison.Ordinal) && !p.InComputation);
        ModelAdmission.Check(m.Model);
    }

    [Fact]
    public void A_type_variable_binds_to_a_fact_before_a_declaration()
    {
        // the opaque op's output (declared float16) comes first, the graph input (a fact, float) second: the Add is
        // float, so the Relu after it is float too, and nothing about the Relu is in conflict
        var m = new TinyModel(13);
        m.Model.OpsetImports["com.example"] = 1;
        var x = m.Input("x", DataType.Float, 2);
        var custom = m.Graph.Append(new Node("com.example", "Mystery", [x], ["y"], [], "mystery"));
        custom.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float16, [2L]);
        var add = m.Op("Add", [custom.Outputs[0], x]);
        var relu = m.Op("Relu", [add.Outputs[0]]);
        m.Graph.Outputs.Add(relu.Outputs[0]);

        var types = TypeConsistencyChecker.Check(m.Model);

        Assert.Equal(DataType.Float, types.TypeOf(add.Outputs[0]));
        Assert.Contains(types.Found, p => p.Message.Contains("input 0 'y' is float16 but input 1 'x' is float", StringComparison.Ordinal) && !p.InComputation);
        Assert.Single(types.Found);
    }
}
