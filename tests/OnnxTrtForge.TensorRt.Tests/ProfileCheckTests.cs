using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.TensorRt.Tests;

/// <summary>Shape profiles against a model's inputs as the IR holds them: sizes, dim_param names, unnamed and unknown-rank dims.</summary>
public sealed class ProfileCheckTests
{
    private static Model Unet(bool unnamedWidth = false, bool unknownRankTimestep = false)
    {
        var graph = new Graph("unet");
        graph.AddInput("sample", TypeInfo.OfTensor(DataType.Float16, [Dim.Symbol("batch"), Dim.Of(4), Dim.Symbol("height"), unnamedWidth ? Dim.Unknown : Dim.Symbol("width")]));
        graph.AddInput("timestep", unknownRankTimestep ? TypeInfo.OfTensor(DataType.Float16) : TypeInfo.OfTensor(DataType.Float16, [1L]));
        graph.AddInput("embeddings", TypeInfo.OfTensor(DataType.Float16, [Dim.Symbol("batch"), Dim.Of(77), Dim.Of(768)]));
        return new Model(graph);
    }

    private static ShapeProfile[] Good =>
    [
        ShapeProfile.Parse("sample:1x4x32x32:2x4x64x64:4x4x128x128"),
        ShapeProfile.Parse("embeddings:1x77x768:2x77x768:4x77x768"),
    ];

    [Fact]
    public void Accepts_a_range_over_the_named_dims_that_keeps_the_fixed_ones_and_leaves_static_inputs_unprofiled()
    {
        using var model = Unet();

        ProfileCheck.Against(model, Good, "unet.onnx");
        ProfileCheck.Against(model, [.. Good, ShapeProfile.Parse("timestep:1")], "unet.onnx");
    }

    [Fact]
    public void A_dynamic_input_without_a_profile_is_refused_naming_its_dynamic_dims()
    {
        using var model = Unet(unnamedWidth: true);

        var e = Assert.Throws<ForgeInputException>(() => ProfileCheck.Against(model, [Good[1]], "unet.onnx"));

        Assert.Equal("unet.onnx: input 'sample' ([batch, 4, height, ?]) has dynamic dimension 0 ('batch'), dimension 2 ('height'), dimension 3 and no shape profile; give --shape sample:MIN:OPT:MAX (TensorRT would silently build it for size 1)", e.Message);
    }

    [Fact]
    public void An_input_of_unknown_rank_needs_a_profile_and_takes_any_rank()
    {
        using var model = Unet(unknownRankTimestep: true);

        var e = Assert.Throws<ForgeInputException>(() => ProfileCheck.Against(model, Good, "unet.onnx"));
        ProfileCheck.Against(model, [.. Good, ShapeProfile.Parse("timestep:1")], "unet.onnx");

        Assert.Contains("input 'timestep' has no known rank and no shape profile", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sample:1x4x32x32:2x4x64x64:4x8x128x128", "dimension 1 of input 'sample' is fixed at 4 in unet.onnx ([batch, 4, height, width]); the profile asks min 4, opt 4, max 8")]
    [InlineData("sample:1x4x64x32:2x4x32x64:4x4x128x128", "dimension 2 ('height') of input 'sample' must satisfy min <= opt <= max (got min 64, opt 32, max 128)")]
    [InlineData("sample:2x4x32x32:2x4x64x64:4x4x128x128", "dimension 0 ('batch') of input 'sample' is the same dimension 'batch' as dimension 0 of input 'embeddings', which the profiles give min 1, opt 2, max 4; here min 2, opt 2, max 4")]
    [InlineData("sample:1x4x32:2x4x64:4x4x128", "input 'sample' of unet.onnx has rank 4 ([batch, 4, height, width]), the profile rank 3")]
    [InlineData("latents:1x4x32x32", "--shape latents: unet.onnx has no input named 'latents' (inputs: sample, timestep, embeddings)")]
    public void A_profile_that_contradicts_the_model_is_refused_naming_the_input_and_the_dim(string profile, string error)
    {
        using var model = Unet();

        var e = Assert.Throws<ForgeInputException>(() => ProfileCheck.Against(model, [Good[1], ShapeProfile.Parse(profile)], "unet.onnx"));

        Assert.Contains(error, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }
}
