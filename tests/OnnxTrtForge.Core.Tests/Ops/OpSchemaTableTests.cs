using OnnxTrtForge.Core.Evaluation;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Ops;
using OnnxTrtForge.Core.Passes;
using OnnxTrtForge.Core.Passes.Fp16;
using OnnxTrtForge.Core.Passes.Inference;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Core.Tests.Passes;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.Core.Tests.Ops;

/// <summary>The op-schema table is consistent, and every consumer of op knowledge reads it (a change to the table changes what they do).</summary>
public sealed class OpSchemaTableTests
{
    private static readonly OpSchemaTable Table = OpSchemas.Default;

    private static OpSchema Newest(string name) => Table.Find("", name, 0)!;

    [Fact]
    public void Every_op_with_an_evaluator_has_a_shape_function_and_a_type_rule()
    {
        var evaluated = Table.All.Where(s => s.Evaluator is not null).ToList();

        Assert.NotEmpty(evaluated);
        Assert.All(evaluated, s => Assert.True(s.Shape is not null && s.Types is not null, $"{s} folds but has no shape function or type rule"));
    }

    [Fact]
    public void Every_op_with_a_shape_function_has_a_type_rule_and_every_uint64_claim_has_an_evaluator()
    {
        Assert.All(Table.All.Where(s => s.Shape is not null), s => Assert.True(s.Types is not null, $"{s} has a shape function but no type rule"));
        Assert.All(Table.All.Where(s => s.EvaluatesUInt64), s => Assert.True(s.Evaluator is not null, $"{s} claims uint64 but has no evaluator"));
        Assert.All(Table.All.Where(s => s.Value is not null), s => Assert.True(s.Shape is not null, $"{s} propagates values but has no shape function"));
        Assert.All(Table.All.Where(s => !s.EvaluatesReals), s => Assert.True(s.Evaluator is not null, $"{s} restricts the types it folds but has no evaluator"));
    }

    [Fact]
    public void Versions_of_an_op_follow_each_other_without_gaps_and_the_newest_is_open_ended()
    {
        foreach (var versions in Table.All.GroupBy(s => (s.Domain, s.Name)))
        {
            var ordered = versions.OrderBy(s => s.Since).ToList();
            Assert.Equal(long.MaxValue, ordered[^1].Until);
            for (var i = 0; i + 1 < ordered.Count; i++)
            {
                Assert.Equal(ordered[i + 1].Since, ordered[i].Until);
            }

            Assert.All(ordered, s => Assert.InRange(s.Since, Table.Domains[s.Domain].Min, Table.Domains[s.Domain].Max));
        }
    }

    [Fact]
    public void A_version_is_chosen_by_the_models_opset()
    {
        Assert.Equal(InputSlot.T, Table.Find("", "BatchNormalization", 13)!.Types!.InputAt(3));
        Assert.Equal(InputSlot.T2, Table.Find("", "BatchNormalization", 14)!.Types!.InputAt(3));
        Assert.Equal(InputSlot.T1, Table.Find("", "BatchNormalization", 17)!.Types!.InputAt(1));
        Assert.Equal(InputSlot.T, Table.Find("ai.onnx", "Pow", 11)!.Types!.InputAt(1));
        Assert.Equal(InputSlot.Any, Table.Find("", "Pow", 12)!.Types!.InputAt(1));
        Assert.Null(Table.Find("", "NoSuchOp", 17));
        Assert.Null(Table.Find("com.example", "Relu", 17));
    }

    [Fact]
    public void Contrib_ops_are_known_with_their_types_but_never_parsable_by_tensorrt()
    {
        var groupNorm = Table.Find("com.microsoft", "GroupNorm", 1)!;

        Assert.Equal(InputSlot.Float32, groupNorm.Types!.InputAt(1));
        Assert.All(Table.All.Where(s => s.Domain == "com.microsoft"), s => Assert.False(s.TensorRtParsable, s.ToString()));
    }

    [Fact]
    public void Every_op_of_every_shipped_fixture_is_in_the_table_at_the_fixtures_opset()
    {
        foreach (var fixture in new[] { "tiny_unet_opset12_fp32", "tiny_unet_dynamo18_fp32", "tiny_vae_decoder_opset12_fp32", "tiny_unet_opset12_fp16" })
        {
            using var model = OnnxReader.Load(Fixtures.Model(fixture));
            foreach (var node in model.Graph.AllNodes().Where(n => n.IsOnnxDomain))
            {
                var schema = Table.Find(node, model.OnnxOpset);
                Assert.True(schema is not null && schema.Types is not null && schema.TensorRtParsable, $"{fixture}: {node.OpType} at opset {model.OnnxOpset}");
            }
        }
    }

    [Fact]
    public void The_default_fp16_op_block_list_is_the_tables_keep_float32_ops()
    {
        var kept = Table.All.Where(s => s.Half.KeepFloat32ByDefault).Select(s => s.Name).ToHashSet();

        Assert.Equal(kept.Order(), Fp16Options.DefaultOpBlockList.Order());
        Assert.Contains("LayerNormalization", kept);
        Assert.DoesNotContain("Softmax", kept);
    }

    [Fact]
    public void The_fp16_behaviour_says_from_which_opset_the_schema_admits_half_types()
    {
        Assert.False(Newest("CumSum").Half.Admits(DataType.Float16, 13));
        Assert.True(Newest("CumSum").Half.Admits(DataType.Float16, 14));
        Assert.False(Newest("Range").Half.Admits(DataType.Float16, 23));
        Assert.False(Newest("Conv").Half.Admits(DataType.BFloat16, 21));
        Assert.True(Newest("Conv").Half.Admits(DataType.BFloat16, 22));
        Assert.True(Newest("MatMul").Half.Admits(DataType.BFloat16, 13));
        Assert.False(Newest("Einsum").Half.Admits(DataType.BFloat16, 23));
    }

    [Fact]
    public void Target_tensorrt_refuses_an_op_the_table_marks_unparsable_and_accepts_it_otherwise()
    {
        TinyModel Model()
        {
            var m = new TinyModel(17);
            var relu = m.Op("Relu", [m.Input("x", DataType.Float, 2)]);
            relu.Name = "relu";
            m.Output(relu.Outputs[0], DataType.Float, 2);
            return m;
        }

        var unparsable = Table.With(Newest("Relu") with { TensorRtParsable = false });

        Assert.Equal(1, new StandardOpsCheckPass().Run(Model().Model).Counters["nodes-checked"]);
        var e = Assert.Throws<PassFailedException>(() => new StandardOpsCheckPass(unparsable).Run(Model().Model));
        Assert.Contains("node 'relu' is op 'Relu', which TensorRT's ONNX parser does not support", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Target_tensorrt_refuses_a_standard_domain_op_the_table_does_not_know()
    {
        var m = new TinyModel(17);
        var odd = m.Op("NoSuchOp", [m.Input("x", DataType.Float, 2)]);
        odd.Name = "odd";
        m.Output(odd.Outputs[0], DataType.Float, 2);

        var e = Assert.Throws<PassFailedException>(() => new StandardOpsCheckPass().Run(m.Model));

        Assert.Contains("'odd'", e.Message, StringComparison.Ordinal);
        Assert.Contains("does not know", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Cse_merges_what_the_table_calls_deterministic_and_keeps_what_it_does_not()
    {
        TinyModel Twins()
        {
            var m = new TinyModel(17);
            var x = m.Input("x", DataType.Float, 2);
            var a = m.Op("Relu", [x]);
            var b = m.Op("Relu", [x]);
            m.Output(m.Op("Add", [a.Outputs[0], b.Outputs[0]]).Outputs[0], DataType.Float, 2);
            return m;
        }

        var random = Table.With(Newest("Relu") with { Deterministic = false });

        Assert.Equal(1, new CommonSubexpressionEliminationPass().Run(Twins().Model).Counters["merged"]);
        Assert.False(new CommonSubexpressionEliminationPass(random).Run(Twins().Model).Modified);
    }

    [Fact]
    public void Folding_evaluates_with_the_tables_evaluator_and_not_without_it()
    {
        var node = new Node("", "Add", [new Value("a"), new Value("b")], ["c"], [], "add");
        HostTensor?[] inputs = [HostTensor.Integer(DataType.Int64, [], [2]), HostTensor.Integer(DataType.Int64, [], [3])];
        var withoutAdd = Table.With(Newest("Add") with { Evaluator = null });

        Assert.Equal([5L], OpEvaluatorRegistry.CreateDefault().Evaluate(node, inputs, 17)![0].AsLongs());
        Assert.Null(new OpEvaluatorRegistry(withoutAdd).Evaluate(node, inputs, 17));
        Assert.False(new OpEvaluatorRegistry(withoutAdd).Contains("", "Add"));

        // the dtypes an evaluator claims are the table's: Add of reals folds unless the table says its reals are inexact
        HostTensor?[] reals = [HostTensor.Real(DataType.Float, [], [0.5]), HostTensor.Real(DataType.Float, [], [0.25])];
        Assert.Equal([0.75], OpEvaluatorRegistry.CreateDefault().Evaluate(node, reals, 17)![0].Reals!);
        Assert.Null(new OpEvaluatorRegistry(Table.With(Newest("Add") with { EvaluatesReals = false })).Evaluate(node, reals, 17));
    }

    [Fact]
    public void Shape_inference_follows_the_tables_shape_functions()
    {
        var m = new TinyModel(17);
        var x = m.Input("x", DataType.Float, 2, 3);
        var sin = m.Op("Sin", [x]);
        var asin = m.Op("Asin", [x]);

        Assert.Null(Newest("Asin").Shape);
        Assert.Equal([2L, 3L], ShapeInference.Infer(sin, _ => null, 17, (Func<Value, DimExpr?[]?>?)null)[0]!.Shape!.Select(d => d.Value));
        Assert.Null(ShapeInference.Infer(asin, _ => null, 17, (Func<Value, DimExpr?[]?>?)null)[0]);
    }

    [Fact]
    public void The_type_signatures_are_the_tables()
    {
        var m = new TinyModel(17);
        var x = m.Input("x", DataType.Float, 2);

        Assert.Same(Newest("Gelu").Types, OpTypeSignatures.Of(m.Op("Gelu", [x]), 20));
        Assert.Null(OpTypeSignatures.Of(m.Op("NoSuchOp", [x]), 17));
    }

    [Fact]
    public void A_known_domain_at_an_opset_the_table_does_not_cover_is_refused_an_unknown_imported_domain_is_opaque()
    {
        var m = new TinyModel(17);
        var relu = m.Op("Relu", [m.Input("x", DataType.Float, 2)]);
        m.Output(relu.Outputs[0], DataType.Float, 2);
        m.Model.OpsetImports["com.microsoft"] = 2;
        m.Model.OpsetImports["com.example"] = 7;

        var e = Assert.Throws<ForgeInputException>(() => ModelAdmission.Check(m.Model));

        Assert.Contains("'com.microsoft' opset 2 is not one forge knows (1 to 1)", e.Message, StringComparison.Ordinal);
        m.Model.OpsetImports["com.microsoft"] = 1;
        ModelAdmission.Check(m.Model);
    }

    [Fact]
    public void The_graph_validator_checks_declared_types_against_the_tables_type_rules()
    {
        // Softsign and ArgMax were in none of the validator's former lists: only the table knows their rules
        var m = new TinyModel(17);
        var x = m.Input("x", DataType.Float, 2);
        var softsign = m.Op("Softsign", [x]);
        softsign.Name = "softsign";
        m.Output(softsign.Outputs[0], DataType.Float16, 2);

        var e = Assert.Throws<PassFailedException>(() => GraphValidator.Validate(m.Model));
        Assert.Contains("node 'softsign' (Softsign): output", e.Message, StringComparison.Ordinal);
        Assert.Contains("is float16, expected float", e.Message, StringComparison.Ordinal);

        var n = new TinyModel(17);
        var argmax = n.Op("ArgMax", [n.Input("x", DataType.Float, 2)]);
        n.Output(argmax.Outputs[0], DataType.Int32, 1);
        Assert.Contains("expected int64", Assert.Throws<PassFailedException>(() => GraphValidator.Validate(n.Model)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_graph_validator_refuses_a_where_condition_that_is_not_bool_and_a_reshape_shape_that_is_not_int64()
    {
        var m = new TinyModel(17);
        var c = m.Input("c", DataType.Float, 2);
        var x = m.Input("x", DataType.Float, 2);
        var where = m.Op("Where", [c, x, x]);
        m.Output(where.Outputs[0], DataType.Float, 2);

        Assert.Contains("input 0 'c' is float, expected bool", Assert.Throws<PassFailedException>(() => GraphValidator.Validate(m.Model)).Message, StringComparison.Ordinal);

        var n = new TinyModel(17);
        var shape = n.Const(Tensor.FromArray(DataType.Int32, [1], new[] { 2 }), "shape");
        var reshape = n.Op("Reshape", [n.Input("x", DataType.Float, 2), shape]);
        n.Output(reshape.Outputs[0], DataType.Float, 2);

        Assert.Contains("input 1 'shape' is int32, expected int64", Assert.Throws<PassFailedException>(() => GraphValidator.Validate(n.Model)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_default_domain_op_that_the_models_opset_predates_is_refused_naming_the_node()
    {
        var m = new TinyModel(13);
        var x = m.Input("x", DataType.Float, 2, 4);
        var norm = m.Op("LayerNormalization", [x, m.Floats("g", [4], 1, 1, 1, 1), m.Floats("b", [4], 0, 0, 0, 0)]);
        norm.Name = "norm";
        m.Output(norm.Outputs[0], DataType.Float, 2, 4);

        var e = Assert.Throws<ForgeInputException>(() => ModelAdmission.Check(m.Model));

        Assert.Contains("node 'norm' (LayerNormalization) needs default-domain opset 17 or later; the model imports opset 13", e.Message, StringComparison.Ordinal);
        m.Model.OpsetImports[""] = 17;
        ModelAdmission.Check(m.Model);
        Assert.Equal(17, Table.FirstVersion("", "LayerNormalization")!.Since);
        Assert.Equal(1, Table.FirstVersion("", "Relu")!.Since);
    }

    [Fact]
    public void A_default_domain_op_name_onnx_does_not_define_is_refused_naming_the_node()
    {
        var m = new TinyModel(17);
        var odd = m.Op("Reluu", [m.Input("x", DataType.Float, 2)]);
        odd.Name = "typo";
        m.Output(odd.Outputs[0], DataType.Float, 2);

        var e = Assert.Throws<ForgeInputException>(() => Optimizer.Optimize(m.Model));

        Assert.Contains("node 'typo' is op 'Reluu', which is not an ai.onnx operator (opset 1 to 23)", e.Message, StringComparison.Ordinal);
        Assert.True(Table.Knows("", "ReverseSequence") && Table.Knows("ai.onnx", "ImageScaler"));
    }
}
