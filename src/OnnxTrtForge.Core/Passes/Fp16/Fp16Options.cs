using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes.Fp16;

/// <summary>The reduced-precision type <c>to-fp16</c> converts float32 to.</summary>
public enum HalfType
{
    Fp16,
    Bf16,
}

/// <summary>Options of the <c>to-fp16</c> pass (from the CLI's --to/--keep-io-types/--op-block-list/--node-block-list and YAML).</summary>
public sealed record Fp16Options
{
    public HalfType Target { get; init; } = HalfType.Fp16;

    /// <summary>Graph inputs and outputs keep their float32 type; Casts sit at the edges.</summary>
    public bool KeepIoTypes { get; init; } = true;

    /// <summary>Op types that compute in float32 (an island wrapped in Casts).</summary>
    public IReadOnlySet<string> OpBlockList { get; init; } = DefaultOpBlockList;

    /// <summary>Node names that compute in float32.</summary>
    public IReadOnlySet<string> NodeBlockList { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Clamp initializer values beyond the target's range to its largest finite value instead of keeping their consumers in float32.</summary>
    public bool ClampOutOfRange { get; init; }

    /// <summary>
    /// The largest magnitude each named value reached when the float32 model ran on sample inputs (its
    /// test_data_set_* or seeded inputs; measured by the Validation library's ActivationRanges, passed in by
    /// the CLI and the YAML stage), or null when not measured. Nodes that read or produce a value beyond
    /// <see cref="ActivationLimit"/> compute in float32 (a Conv whose activations pass 65504 would give
    /// infinities, then NaNs, in fp16). Names the table lacks (values made by earlier passes) are unconstrained.
    /// </summary>
    public IReadOnlyDictionary<string, double>? ActivationRanges { get; init; }

    /// <summary>
    /// The measured activations are samples, not the worst case: a value counts as out of range past the
    /// target's largest finite value divided by this (fp16: 65504 / 2 = 32752).
    /// </summary>
    public double ActivationHeadroom { get; init; } = 2;

    public DataType TargetType => Target == HalfType.Fp16 ? DataType.Float16 : DataType.BFloat16;

    /// <summary>The largest finite value of the target type.</summary>
    public double TargetMax => Target == HalfType.Fp16 ? 65504.0 : 3.3895313892515355e38;

    /// <summary>The magnitude past which a measured activation keeps its nodes in float32.</summary>
    public double ActivationLimit => TargetMax / ActivationHeadroom;

    /// <summary>
    /// The default float32 islands, from the literature: onnxconverter-common's float16 converter keeps
    /// its DEFAULT_OP_BLOCK_LIST in float32 (index-like or kernel-less ops: Range, CumSum, TopK,
    /// NonMaxSuppression, RoiAlign, Resize, Upsample, Min/Max and the ai.onnx.ml ops); ONNX Runtime's
    /// Stable Diffusion fp16 recipe keeps RandomNormalLike in float32; PyTorch autocast, which made the
    /// fp16 exports diffusion users run (tiny_unet_opset12_fp16 shows it), computes pow, sqrt, exp/log,
    /// the reductions, layer/group/instance norm and the sinusoidal timestep embedding in float32; and
    /// TensorRT warns that layernorm after self-attention overflows in FP16 unless it runs in float32.
    /// The reasons are ranges: x² overflows fp16 (65504) for |x| &gt; 256, e^x for x &gt; 11, sums of
    /// thousands of terms lose their low bits, and the timestep embedding's sin(t·f) with t = 981 has
    /// an fp16 argument step of 0.5 rad.
    /// <para>
    /// Measured on the fixtures (ONNX Runtime CPU, optimizations off, test_data_set_0, rel L2 of the
    /// output vs the float32 model; Casts inserted): UNet opset 12: this list 1.20e-3 (200), no list
    /// 0.98e-3 (4), without Sin/Cos 1.22e-3 (199), without the norms 1.00e-3 (5), with Softmax
    /// 1.20e-3 (264); UNet dynamo opset 18: 1.31e-3 (222), 0.95e-3 (4), 1.37e-3 (222), 0.99e-3 (4),
    /// 1.29e-3 (286); VAE decoder: 2.30e-3 (36), 1.46e-3 (2), with Softmax 2.30e-3 (36). So on these
    /// small random-weight models every variant is far inside 1e-2 and the CPU provider (which upcasts
    /// ops it has no fp16 kernel for) cannot rank the lists: the list is not tuned on the fixtures, it
    /// protects real weights and TensorRT's true fp16 kernels, at about two Casts an island.
    /// Softmax is left out (TensorRT and ONNX Runtime accumulate fp16 softmax in float32; 64 more Casts
    /// on the UNet): add it with <c>--op-block-list +Softmax</c>, and name SD 2.x's attention MatMuls in
    /// <c>--node-block-list</c>, against attention overflow. Resize (nearest upsampling) is exact in
    /// fp16 and is not listed, unlike in onnxconverter-common, whose reason was missing kernels.
    /// </para>
    /// </summary>
    /// <remarks>The list is the ops the op-schema table marks <see cref="Ops.HalfBehaviour.KeepFloat32ByDefault"/>.</remarks>
    public static IReadOnlySet<string> DefaultOpBlockList { get; } = new SortedSet<string>(
        Ops.OpSchemas.Default.All.Where(s => s.Domain.Length == 0 && s.Half.KeepFloat32ByDefault).Select(s => s.Name),
        StringComparer.Ordinal);

    /// <summary>
    /// Applies a CLI/YAML op list to the default: "A,B" replaces it; entries with a leading '+' add to it
    /// and '-' remove from it ("+Softmax,-Sin").
    /// </summary>
    public static IReadOnlySet<string> ParseOpList(string spec, IReadOnlySet<string>? baseline = null)
    {
        var entries = spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var relative = entries.Length > 0 && entries.All(e => e[0] is '+' or '-');
        if (!relative && entries.Any(e => e[0] is '+' or '-'))
        {
            throw new ForgeInputException($"op block list '{spec}': mix of absolute and +/- entries");
        }

        var result = new SortedSet<string>(relative ? baseline ?? DefaultOpBlockList : [], StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (entry[0] == '-')
            {
                result.Remove(entry[1..]);
            }
            else
            {
                result.Add(entry.TrimStart('+'));
            }
        }

        return result;
    }
}
