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

    public DataType TargetType => Target == HalfType.Fp16 ? DataType.Float16 : DataType.BFloat16;

    /// <summary>
    /// The default float32 islands. Sources: onnxconverter-common's float16 converter keeps
    /// DEFAULT_OP_BLOCK_LIST in float32 (ops without fp16 kernels or with index semantics: Range, CumSum,
    /// TopK, NonMaxSuppression, RoiAlign, Resize, Upsample, Min/Max, the ai.onnx.ml ops); ONNX Runtime's
    /// Stable Diffusion fp16 recipe keeps RandomNormalLike in float32; PyTorch autocast (which produced the
    /// fp16 exports diffusion users run) computes pow, sqrt/rsqrt, exp/log, softmax, the reductions, the
    /// norms (layer/group/instance/batch) and the sinusoidal timestep embedding (sin/cos of t·f, t≈1000)
    /// in float32. The measurements on the fixtures that settled the list are in
    /// tests/OnnxTrtForge.Core.Tests/Passes/Fp16/BLOCKLIST.md: without Sin/Cos the UNet's error grows
    /// several-fold (an fp16 ulp at 981 is 0.5 rad), without the norm reductions it grows further.
    /// Softmax is left out (TensorRT and ONNX Runtime accumulate fp16 softmax in float32); add it with
    /// <c>--op-block-list +Softmax</c> for SD 2.x-style attention overflow. Resize (nearest upsampling)
    /// is exact in fp16 and is not listed, unlike onnxconverter-common, whose reason was missing kernels.
    /// </summary>
    public static IReadOnlySet<string> DefaultOpBlockList { get; } = new SortedSet<string>(StringComparer.Ordinal)
    {
        // reductions and norms: sums of squares overflow fp16 (65504) and accumulate rounding
        "ReduceMean", "ReduceSum", "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceProd",
        "InstanceNormalization", "LayerNormalization", "GroupNormalization", "BatchNormalization", "LpNormalization",
        "MeanVarianceNormalization",

        // the pieces of decomposed norms and of exponentials: overflow past 65504 (x² for |x|>256, e^x for x>11)
        "Pow", "Sqrt", "Reciprocal", "Exp", "Log",

        // timestep embeddings: arguments of ~1000 rad lose their fraction in fp16
        "Sin", "Cos",

        // index-like results and missing kernels (onnxconverter-common's DEFAULT_OP_BLOCK_LIST)
        "Range", "CumSum", "TopK", "NonMaxSuppression", "RoiAlign",

        // random generators (ONNX Runtime's Stable Diffusion recipe)
        "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial",
    };

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
