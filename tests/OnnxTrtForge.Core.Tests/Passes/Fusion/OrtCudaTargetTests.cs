using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using OnnxTrtForge.Core.Passes.Fp16;
using OnnxTrtForge.Core.Passes.Fusion.OrtCuda;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Testing;
using Xunit.Abstractions;

namespace OnnxTrtForge.Core.Tests.Passes.Fusion;

/// <summary>The targets on the real exports: every attention and group norm fused for ort-cuda, standard ops only for tensorrt.</summary>
public sealed class OrtCudaTargetTests(ITestOutputHelper log)
{
    /// <summary>SD v1.x: 16 transformer blocks (self + cross attention each); 22 resnets × 2 + 16 transformer input norms + conv_norm_out.</summary>
    private const int Attentions = 32;
    private const int GroupNorms = 61;

    [Theory]
    [InlineData("tiny_unet_opset12_fp16_aten")]
    [InlineData("tiny_unet_opset12_fp16")]
    [InlineData("tiny_unet_opset12_fp32")]
    [InlineData("tiny_unet_dynamo18_fp32")]
    public void Ort_cuda_target_fuses_every_attention_and_every_group_norm_of_the_unet(string fixture)
    {
        using var model = OnnxReader.Load(Fixtures.Model(fixture));

        var report = Optimizer.Optimize(model, new OptimizeOptions { Target = OptimizeTarget.OrtCuda, ValidateEveryPass = true });

        var census = model.Graph.OpCensus();
        log.WriteLine(string.Join(", ", census.Select(kv => $"{kv.Key} {kv.Value}")));
        Assert.False(census.ContainsKey("Softmax"));
        Assert.False(census.ContainsKey("InstanceNormalization"));
        Assert.False(census.ContainsKey("Einsum"));
        Assert.Equal(Attentions, census.GetValueOrDefault("com.microsoft::MultiHeadAttention"));
        Assert.Equal(GroupNorms, census.GetValueOrDefault("com.microsoft::GroupNorm") + census.GetValueOrDefault("com.microsoft::SkipGroupNorm"));
        Assert.Equal(1, model.OpsetImports[OrtCudaFusions.Domain]);
        Assert.Contains(report.Passes, p => p.Pass == "fuse-attention");
    }

    [Fact]
    public void Ort_cuda_output_of_the_fp32_export_computes_the_stored_outputs_with_its_contrib_ops_lowered_for_cpu()
    {
        using var model = OnnxReader.Load(Fixtures.Model("tiny_unet_opset12_fp32"));
        Optimizer.Optimize(model, new OptimizeOptions { Target = OptimizeTarget.OrtCuda });
        var dir = Fixtures.Dir("tiny_unet_opset12_fp32");

        CpuLowering.Lower(model);
        var output = OrtRunner.Run(model, OrtRunner.TestInputs(dir))[0];

        Assert.InRange(OrtRunner.RelativeL2(output, OrtRunner.TestOutput(dir)), 0, 1e-4);
    }

    [Fact]
    public void Fp16_after_the_fusions_keeps_them_and_gives_group_norm_float32_gamma_and_beta()
    {
        using var model = OnnxReader.Load(Fixtures.Model("tiny_unet_opset12_fp32"));

        Optimizer.Optimize(model, new OptimizeOptions { Target = OptimizeTarget.OrtCuda, Fp16 = new Fp16Options() });

        var census = model.Graph.OpCensus();
        Assert.Equal(Attentions, census.GetValueOrDefault("com.microsoft::MultiHeadAttention"));
        Assert.Equal(GroupNorms, census.GetValueOrDefault("com.microsoft::GroupNorm") + census.GetValueOrDefault("com.microsoft::SkipGroupNorm"));
        foreach (var node in model.Graph.Nodes.Where(n => n.Domain == OrtCudaFusions.Domain))
        {
            Assert.Equal(DataType.Float16, node.Input(0)!.Type!.ElementType);
            if (node.OpType is "GroupNorm" or "SkipGroupNorm")
            {
                Assert.Equal(DataType.Float, node.Input(1)!.Type!.ElementType);
                Assert.Equal(DataType.Float, node.Input(2)!.Type!.ElementType);
            }
        }

        GraphValidator.Validate(model);
        CpuLowering.Lower(model);
        var dir = Fixtures.Dir("tiny_unet_opset12_fp32");
        var output = OrtRunner.Run(model, OrtRunner.TestInputs(dir))[0];
        Assert.InRange(OrtRunner.RelativeL2(output, OrtRunner.TestOutput(dir)), 0, 1e-2);
    }

    [Theory]
    [InlineData("tiny_unet_opset12_fp16", 2e-3)]
    [InlineData("tiny_unet_dynamo18_fp32", 1e-4)]
    public void Ort_cuda_output_of_other_exports_computes_the_stored_outputs_with_its_contrib_ops_lowered_for_cpu(string fixture, double tolerance)
    {
        using var model = OnnxReader.Load(Fixtures.Model(fixture));
        Optimizer.Optimize(model, new OptimizeOptions { Target = OptimizeTarget.OrtCuda });
        var dir = Fixtures.Dir(fixture);

        CpuLowering.Lower(model);
        var output = OrtRunner.Run(model, OrtRunner.TestInputs(dir))[0];

        Assert.InRange(OrtRunner.RelativeL2(output, OrtRunner.TestOutput(dir)), 0, tolerance);
    }

    [Fact]
    public void Tensorrt_target_fails_naming_the_node_when_a_non_standard_op_remains()
    {
        using var model = OnnxReader.Load(Fixtures.Model("tiny_unet_opset12_fp16_aten"));

        var error = Assert.Throws<PassFailedException>(() => Optimizer.Optimize(model, new OptimizeOptions { Target = OptimizeTarget.TensorRt, Rules = [] }));

        Assert.Contains("org.pytorch.aten::ATen", error.Message, StringComparison.Ordinal);
        Assert.Contains("target tensorrt: node '", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tensorrt_target_passes_a_model_of_standard_ops_and_emits_none_other()
    {
        using var model = OnnxReader.Load(Fixtures.Model("tiny_unet_opset12_fp16_aten"));

        var report = Optimizer.Optimize(model, new OptimizeOptions { Target = OptimizeTarget.TensorRt });

        Assert.All(model.Graph.AllNodes(), n => Assert.True(n.IsOnnxDomain, n.ToString()));
        Assert.Contains(report.Passes, p => p.Pass == "check-standard-ops");
    }
}
