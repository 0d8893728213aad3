using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.Validation.Tests;

/// <summary><c>forge bench MODEL.onnx</c>'s library (CPU here; the same code binds CUDA buffers on a GPU).</summary>
public sealed class OrtBenchTests
{
    private static readonly string Fp32 = Fixtures.Model("tiny_unet_opset12_fp32");
    private static readonly string Dynamo = Fixtures.Model("tiny_unet_dynamo18_fp32");

    [Fact]
    public void Times_candidate_and_baseline_for_the_asked_iterations_and_reports_their_ratio()
    {
        var result = OrtBench.Run(new OrtBenchRequest { ModelPath = Fp32, BaselinePath = Dynamo, Warmup = 1, Iterations = 7, Block = 3 });

        Assert.NotNull(result.Baseline);
        foreach (var m in new[] { result.Candidate, result.Baseline! })
        {
            Assert.Equal(7, m.Iterations);
            var s = m.Milliseconds;
            Assert.True(s.Min > 0);
            Assert.True(s.Min <= s.Median && s.Median <= s.P90 && s.P90 <= s.Max, $"{s}");
            Assert.False(m.CudaGraph);
            Assert.Contains("io-binding", m.Runtime, StringComparison.Ordinal);
        }

        Assert.Equal(result.Candidate.Milliseconds.Median / result.Baseline!.Milliseconds.Median, result.MedianRatio!.Value, 12);

        // UNet defaults where the model fixes nothing are SD's; here the fixture fixes every dim, and the bench takes them
        Assert.Equal(new long[] { 2, 4, 16, 16 }, result.Candidate.Inputs.Single(i => i.Name == "input_0").Dims);
        Assert.Equal(new long[] { 2, 77, 32 }, result.Candidate.Inputs.Single(i => i.Name == "input_2").Dims);
    }

    [Fact]
    public void Writes_a_json_report_with_the_counted_iterations_the_ratio_and_ordered_percentiles()
    {
        using var temp = Fixtures.Temp();
        var result = OrtBench.Run(new OrtBenchRequest { ModelPath = Fp32, BaselinePath = Dynamo, Warmup = 0, Iterations = 4, Block = 2 });
        var path = temp.File("bench.json");
        OrtBench.WriteReport(path, result);

        var root = JsonDocument.Parse(File.ReadAllText(path)).RootElement;
        Assert.True(root.GetProperty("medianRatio").GetDouble() > 0);
        var candidate = root.GetProperty("result").GetProperty("candidate");
        Assert.Equal(4, candidate.GetProperty("iterations").GetInt32());
        var ms = candidate.GetProperty("milliseconds");
        Assert.True(ms.GetProperty("min").GetDouble() <= ms.GetProperty("median").GetDouble());
        Assert.True(ms.GetProperty("median").GetDouble() <= ms.GetProperty("p90").GetDouble());
        Assert.Equal(4, root.GetProperty("result").GetProperty("baseline").GetProperty("iterations").GetInt32());

        var md = temp.File("bench.md");
        OrtBench.WriteReport(md, result);
        Assert.Contains("candidate / baseline: median", File.ReadAllText(md), StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_a_report_that_is_neither_json_nor_markdown()
    {
        var e = Assert.Throws<ForgeInputException>(() => OrtBench.CheckReportPath("bench.txt"));
        Assert.Contains("bench.txt", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_shape_override_fixes_its_symbolic_dim_for_every_input_and_open_outputs_are_learnt_from_the_first_run()
    {
        using var temp = Fixtures.Temp();
        var path = temp.File("add.onnx");
        SaveDynamicAdd(path);

        var result = OrtBench.Run(new OrtBenchRequest
        {
            ModelPath = path,
            Warmup = 1,
            Iterations = 3,
            Shapes = new Dictionary<string, long[]> { ["x"] = [5, 3] },
        });

        Assert.Equal(new long[] { 5, 3 }, result.Candidate.Inputs.Single(i => i.Name == "x").Dims);
        Assert.Equal(new long[] { 5, 3 }, result.Candidate.Inputs.Single(i => i.Name == "y").Dims); // y shares the symbol N
        Assert.Equal(3, result.Candidate.Milliseconds.Median > 0 ? result.Candidate.Iterations : -1);
    }

    [Fact]
    public void The_bound_session_computes_what_a_plain_run_computes()
    {
        using var temp = Fixtures.Temp();
        var path = temp.File("add.onnx");
        SaveDynamicAdd(path);
        var shapes = new Dictionary<string, long[]> { ["x"] = [2, 3], ["y"] = [2, 3] };
        using var bound = new BoundSession(path, new RuntimeOptions(), shapes, null, useGraph: false);
        bound.Upload("x", BenchShapes.Encode(Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float, new double[] { 1, 2, 3, 4, 5, 6 }));
        bound.Upload("y", BenchShapes.Encode(Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float, new double[] { 10, 20, 30, 40, 50, 60 }));
        bound.Run(); // the output's shape is open: learnt here
        bound.Run(); // then written into the fixed buffer
        var z = new float[6];
        bound.Output("z").Download<float>(z);
        Assert.Equal(new float[] { 11, 22, 33, 44, 55, 66 }, z);
    }

    [Fact]
    public void Shape_overrides_that_name_no_input_or_contradict_a_fixed_dim_are_bad_input()
    {
        var unknown = Assert.Throws<ForgeInputException>(() => OrtBench.Run(new OrtBenchRequest { ModelPath = Fp32, Iterations = 1, Shapes = new Dictionary<string, long[]> { ["nope"] = [1] } }));
        Assert.Contains("nope", unknown.Message, StringComparison.Ordinal);
        var fixedDim = Assert.Throws<ForgeInputException>(() => OrtBench.Run(new OrtBenchRequest { ModelPath = Fp32, Iterations = 1, Shapes = new Dictionary<string, long[]> { ["input_0"] = [2, 4, 32, 32] } }));
        Assert.Contains("fixes dim 2", fixedDim.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_unet_with_open_dims_gets_stable_diffusion_defaults_batch_2_latents_64_and_77_tokens()
    {
        var unet = new UnetSignature(
            new TensorSlot("sample", DataType.Float, [-1, 4, -1, -1]),
            new TensorSlot("timestep", DataType.Int64, [-1]),
            new TensorSlot("encoder_hidden_states", DataType.Float, [-1, -1, 768]),
            new TensorSlot("out_sample", DataType.Float, [-1, 4, -1, -1]));
        var io = new ModelIo(
            [Slot("sample", [-1, 4, -1, -1]), Slot("timestep", [-1]), Slot("encoder_hidden_states", [-1, -1, 768])],
            [Slot("out_sample", [-1, 4, -1, -1])]);

        var shapes = BenchShapes.Resolve("unet.onnx", io, unet, new Dictionary<string, long[]>());
        Assert.Equal(new long[] { 2, 4, 64, 64 }, shapes["sample"]);
        Assert.Equal(new long[] { 2 }, shapes["timestep"]);
        Assert.Equal(new long[] { 2, 77, 768 }, shapes["encoder_hidden_states"]);
        Assert.Equal(new long[] { 2, 4, 64, 64 }, BenchShapes.KnownOutputs(io, shapes, unet)["out_sample"]);

        var single = BenchShapes.Resolve("unet.onnx", io, unet, new Dictionary<string, long[]> { ["sample"] = [1, 4, 96, 96] });
        Assert.Equal(new long[] { 1 }, single["timestep"]);
        Assert.Equal(new long[] { 1, 77, 768 }, single["encoder_hidden_states"]);

        static ModelIo.Slot Slot(string name, long[] dims) => new(name, dims, dims.Select(_ => (string?)null).ToArray(), true);
    }

    [Fact]
    public void An_op_the_cpu_provider_lacks_is_one_line_naming_the_op_the_node_and_the_device()
    {
        using var temp = Fixtures.Temp();
        var path = temp.File("groupnorm.onnx");
        SaveContribGroupNorm(path);

        var e = Assert.Throws<ForgeInputException>(() => OrtSessions.Create(path, new RuntimeOptions()));
        Assert.Contains("GroupNorm", e.Message, StringComparison.Ordinal);
        Assert.Contains("'gn_0'", e.Message, StringComparison.Ordinal);
        Assert.Contains("--device cpu", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);

        var bench = Assert.Throws<ForgeInputException>(() => OrtBench.Run(new OrtBenchRequest { ModelPath = path, Iterations = 1 }));
        Assert.Contains("GroupNorm", bench.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parses_onnx_runtimes_not_implemented_message()
    {
        var missing = MissingKernel.TryParse("[ErrorCode:NotImplemented] Could not find an implementation for GroupNorm(1) node with name 'up/gn'");
        Assert.Equal(new MissingKernel("GroupNorm", "1", "up/gn"), missing);
        Assert.Equal(
            new MissingKernel("com.microsoft.NhwcConv", "1", "NhwcConv_2142"),
            MissingKernel.TryParse("[ErrorCode:NotImplemented] Failed to find kernel for com.microsoft.NhwcConv(1) (node:'NhwcConv_2142' ep:'CPUExecutionProvider'). Kernel not found"));
        Assert.Null(MissingKernel.TryParse("[ErrorCode:InvalidGraph] Load model failed"));
    }

    [Fact]
    public void Tells_onnx_models_from_engines()
    {
        Assert.True(OrtBench.IsOnnxModel(Fp32));
        Assert.False(OrtBench.IsOnnxModel("unet.trt"));
        using var temp = Fixtures.Temp();
        var renamed = temp.File("model.bin");
        File.Copy(Fp32, renamed);
        Assert.True(OrtBench.IsOnnxModel(renamed));
        var engine = temp.File("engine.bin");
        File.WriteAllBytes(engine, "ftrt\0\0\0\0"u8.ToArray());
        Assert.False(OrtBench.IsOnnxModel(engine));
    }

    /// <summary>z = x + y, all [N, 3] with N symbolic (the output's dim left unnamed, so its shape is open).</summary>
    internal static void SaveDynamicAdd(string path)
    {
        var graph = new Graph("add");
        using var model = new Model(graph) { IrVersion = 8 };
        model.OpsetImports[""] = 17;
        var x = graph.AddInput("x", TypeInfo.OfTensor(DataType.Float, [Dim.Symbol("N"), Dim.Of(3)]));
        var y = graph.AddInput("y", TypeInfo.OfTensor(DataType.Float, [Dim.Symbol("N"), Dim.Of(3)]));
        var add = graph.Append(new Node("", "Add", [x, y], ["z"], name: "add"));
        add.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [Dim.Unknown, Dim.Of(3)]);
        graph.Outputs.Add(add.Outputs[0]);
        OnnxWriter.Save(model, path);
    }

    /// <summary>One com.microsoft GroupNorm (NHWC, CUDA kernel only) with its gamma and beta.</summary>
    internal static void SaveContribGroupNorm(string path)
    {
        var graph = new Graph("gn");
        using var model = new Model(graph) { IrVersion = 8 };
        model.OpsetImports[""] = 17;
        model.OpsetImports["com.microsoft"] = 1;
        var x = graph.AddInput("x", TypeInfo.OfTensor(DataType.Float, [1L, 4, 4, 8]));
        var gamma = graph.AddInitializer(Tensor.FromFloats([8], Enumerable.Repeat(1f, 8).ToArray(), "gamma"));
        var beta = graph.AddInitializer(Tensor.FromFloats([8], new float[8], "beta"));
        var gn = graph.Append(new Node("com.microsoft", "GroupNorm", [x, gamma, beta], ["y"],
            [Core.Ir.Attribute.Float("epsilon", 1e-5f), Core.Ir.Attribute.Int("groups", 4), Core.Ir.Attribute.Int("activation", 1)], "gn_0"));
        gn.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [1L, 4, 4, 8]);
        graph.Outputs.Add(gn.Outputs[0]);
        OnnxWriter.Save(model, path);
    }
}
