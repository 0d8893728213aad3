using System.Collections.Frozen;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes;

/// <summary>How an input slot of an op is typed.</summary>
public enum InputSlot
{
    /// <summary>Bound to the op's type variable T: every T slot and T output share one element type.</summary>
    T,

    /// <summary>Unconstrained by T (shapes, axes, indices, conditions, Cast's source, Pow's exponent...).</summary>
    Any,

    /// <summary>Must be float32 whatever T is (Resize's and Upsample's scales).</summary>
    Float32,

    /// <summary>A second type variable: every T1 slot and T1 output share one element type, independent of T (BatchNormalization-15's scale and B).</summary>
    T1,

    /// <summary>A third type variable, independent of T and T1 (BatchNormalization-14/15's mean and var).</summary>
    T2,
}

/// <summary>How an output of an op gets its element type.</summary>
public enum OutputSlot
{
    /// <summary>The op's type variable T.</summary>
    T,

    /// <summary>The op's second type variable T1.</summary>
    T1,

    /// <summary>The op's third type variable T2.</summary>
    T2,

    Int64,

    Bool,

    /// <summary>Cast: the <c>to</c> attribute.</summary>
    CastTo,

    /// <summary>Constant / ConstantOfShape: the type of the <c>value</c> attribute (float32 when absent).</summary>
    ValueAttribute,

    /// <summary>Random*, EyeLike: the <c>dtype</c> attribute, else T (the input's type), else float32.</summary>
    DTypeAttribute,

    /// <summary>LayerNormalization's Mean and InvStdDev: the <c>stash_type</c> attribute (float32 by default).</summary>
    StashType,

    /// <summary>Not modelled: the declared type is trusted.</summary>
    Unknown,
}

/// <summary>The element-type signature of an ONNX op: input slots, output slots, and whether the last of each repeats.</summary>
public sealed record OpTypeSignature(IReadOnlyList<InputSlot> Inputs, IReadOnlyList<OutputSlot> Outputs, bool VariadicInputs = false, bool VariadicOutputs = false)
{
    public InputSlot InputAt(int index) =>
        index < Inputs.Count ? Inputs[index] : VariadicInputs && Inputs.Count > 0 ? Inputs[^1] : InputSlot.Any;

    public OutputSlot OutputAt(int index) =>
        index < Outputs.Count ? Outputs[index] : VariadicOutputs && Outputs.Count > 0 ? Outputs[^1] : OutputSlot.Unknown;

    public bool HasTypeVariable => Inputs.Contains(InputSlot.T) || Outputs.Contains(OutputSlot.T);

    /// <summary>Whether input <paramref name="index"/> is bound to a type variable (T, T1 or T2).</summary>
    public bool IsTyped(int index) => InputAt(index) is InputSlot.T or InputSlot.T1 or InputSlot.T2;

    /// <summary>Whether output <paramref name="index"/> is bound to a type variable (T, T1 or T2).</summary>
    public bool IsTypedOutput(int index) => OutputAt(index) is OutputSlot.T or OutputSlot.T1 or OutputSlot.T2;
}

/// <summary>
/// Element-type signatures of the ai.onnx ops that diffusion exports (and their usual neighbours) use,
/// written from the ONNX operator schemas and keyed by (domain, op, opset range): a signature holds from
/// its since-version until the next one of the same op (BatchNormalization ties X, scale, B, mean and var
/// to one T before opset 14, mean/var to U at 14 and scale/B to T1 at 15; Pow's exponent is T before
/// opset 12; Resize-10 reads float32 scales at input 1). Ops not listed are unknown: their declared types
/// are trusted and passes must not retype them.
/// </summary>
public static class OpTypeSignatures
{
    /// <summary>For each ai.onnx op, its signatures by since-version, newest first.</summary>
    private static readonly FrozenDictionary<string, (long Since, OpTypeSignature Signature)[]> Table = Build();

    /// <summary>
    /// The ONNX Runtime contrib ops (com.microsoft) the ort-cuda fusions emit, from ORT's ContribOperators.md:
    /// GroupNorm's γ and β stay float32 whatever T is (the CUDA kernel reads them as float).
    /// </summary>
    private static readonly FrozenDictionary<string, OpTypeSignature> Contrib = new Dictionary<string, OpTypeSignature>(StringComparer.Ordinal)
    {
        ["MultiHeadAttention"] = Parse("T,T,T,T,Any,T,T,T->T,T,T"),
        ["GroupNorm"] = Parse("T,Float32,Float32->T"),
        ["SkipGroupNorm"] = Parse("T,Float32,Float32,T,T->T,T"),
        ["NhwcConv"] = Parse("T,T,T->T"),
        ["BiasAdd"] = Parse("T,T,T->T"),
        ["BiasSplitGelu"] = Parse("T,T->T"),
        ["SkipLayerNormalization"] = Parse("T,T,T,T,T->T,Unknown,Unknown,T"),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>
    /// The signature of an ai.onnx node at <paramref name="opset"/> (the model's ai.onnx import; 0 when
    /// unknown takes the newest), of a known contrib node, or null for control flow, other domains and unlisted ops.
    /// </summary>
    public static OpTypeSignature? Of(Node node, long opset)
    {
        if (!node.IsOnnxDomain)
        {
            return node.Domain == "com.microsoft" ? Contrib.GetValueOrDefault(node.OpType) : null;
        }

        if (!Table.TryGetValue(node.OpType, out var versions))
        {
            return null;
        }

        foreach (var (since, signature) in versions)
        {
            if (opset <= 0 || since <= opset)
            {
                return signature;
            }
        }

        // older than every listed version: the oldest listed rule is the closest the table knows
        return versions[^1].Signature;
    }

    public static bool IsControlFlow(Node node) => node.IsOnnxDomain && node.OpType is "If" or "Loop" or "Scan";

    private static FrozenDictionary<string, (long Since, OpTypeSignature Signature)[]> Build()
    {
        var table = new Dictionary<string, List<(long Since, OpTypeSignature Signature)>>(StringComparer.Ordinal);
        void AddSince(long since, string spec, params string[] ops)
        {
            var signature = Parse(spec);
            foreach (var op in ops)
            {
                if (!table.TryGetValue(op, out var versions))
                {
                    table[op] = versions = [];
                }

                if (versions.Any(v => v.Since == since))
                {
                    throw new InvalidOperationException($"op type signature of {op} since opset {since} listed twice");
                }

                versions.Add((since, signature));
            }
        }

        void Add(string spec, params string[] ops) => AddSince(1, spec, ops);

        Add("T->T",
            "Abs", "Neg", "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Reciprocal", "Sin", "Cos", "Tan", "Asin", "Acos",
            "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Erf", "Floor", "Ceil", "Round", "Sign", "Softplus", "Softsign",
            "HardSigmoid", "HardSwish", "Elu", "Selu", "LeakyRelu", "ThresholdedRelu", "Celu", "Gelu", "Mish", "Identity",
            "Softmax", "LogSoftmax", "Hardmax", "Transpose", "Flatten", "DepthToSpace", "SpaceToDepth", "LpNormalization",
            "MeanVarianceNormalization", "GlobalAveragePool", "GlobalMaxPool", "AveragePool", "LpPool", "Det", "Not", "Shrink");
        Add("T,T->T", "Add", "Sub", "Mul", "Div", "Mod", "PRelu", "MatMul", "And", "Or", "Xor", "BitShift");

        // Pow-7 ties the exponent to T; from opset 12 it is T1, any numeric type
        Add("T,T->T", "Pow");
        AddSince(12, "T,Any->T", "Pow");
        Add("T,T->Bool", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual");
        Add("T*->T", "Sum", "Mean", "Max", "Min", "Concat", "Einsum");
        Add("T,T,T->T", "Gemm", "Conv", "ConvTranspose", "InstanceNormalization", "GroupNormalization", "Range");

        // Clip-6 takes min/max as attributes; from opset 11 they are optional inputs of type T
        Add("T->T", "Clip");
        AddSince(11, "T,T,T->T", "Clip");
        Add("T,T,T->T,StashType,StashType", "LayerNormalization");

        // BatchNormalization: one T for all five inputs (and the training outputs) before opset 14;
        // mean/var become U at 14; scale/B become T1 and mean/var T2 at 15
        Add("T,T,T,T,T->T,T,T,T,T", "BatchNormalization");
        AddSince(14, "T,T,T,T2,T2->T,T2,T2", "BatchNormalization");
        AddSince(15, "T,T1,T1,T2,T2->T,T2,T2", "BatchNormalization");
        Add("T->T,Int64", "MaxPool");
        Add("T,Any->T,Int64", "TopK");
        Add("T,Any->T", "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
            "ReduceLogSumExp", "ReduceSumSquare", "Reshape", "Squeeze", "Unsqueeze", "Expand", "Tile", "Gather", "GatherElements",
            "GatherND", "Trilu", "CumSum", "GridSample");
        Add("T,Any->T*", "Split");
        Add("T,Any,Any,Any,Any->T", "Slice");
        Add("T,Any,T,Any->T", "Pad", "ScatterElements", "ScatterND", "Scatter");
        // Resize-10 is (X, scales); from opset 11 (X, roi, scales, sizes) with roi of any float type
        AddSince(10, "T,Float32->T", "Resize");
        AddSince(11, "T,Any,Float32,Any->T", "Resize");
        Add("T,Float32->T", "Upsample");
        Add("Any,T,T->T", "Where");

        // Dropout-7's mask is T, a bool from opset 10; ratio and training_mode are inputs from opset 12
        Add("T->T,T", "Dropout");
        AddSince(10, "T->T,Bool", "Dropout");
        AddSince(12, "T,Any,Any->T,Bool", "Dropout");
        Add("T->Int64", "ArgMax", "ArgMin");
        Add("Any->Int64", "Shape", "Size", "NonZero");
        Add("T->Bool", "IsNaN", "IsInf");
        Add("Any->CastTo", "Cast");
        Add("Any,T->T", "CastLike");
        Add("->ValueAttribute", "Constant");
        Add("Any->ValueAttribute", "ConstantOfShape");
        Add("->DTypeAttribute", "RandomNormal", "RandomUniform");
        Add("T->DTypeAttribute", "RandomNormalLike", "RandomUniformLike", "EyeLike");
        Add("Any,Any,T->T", "OneHot");
        Add("T,T,Any->T", "RoiAlign");
        return table.ToFrozenDictionary(e => e.Key, e => e.Value.OrderByDescending(v => v.Since).ToArray(), StringComparer.Ordinal);
    }

    private static OpTypeSignature Parse(string spec)
    {
        var parts = spec.Split("->");
        var (inputs, variadicIn) = Tokens(parts[0]);
        var (outputs, variadicOut) = Tokens(parts[1]);
        return new OpTypeSignature(
            inputs.Select(Enum.Parse<InputSlot>).ToArray(),
            outputs.Select(Enum.Parse<OutputSlot>).ToArray(),
            variadicIn,
            variadicOut);
    }

    private static (string[] Tokens, bool Variadic) Tokens(string list)
    {
        var tokens = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var variadic = tokens.Length > 0 && tokens[^1].EndsWith('*');
        if (variadic)
        {
            tokens[^1] = tokens[^1].TrimEnd('*');
        }

        return (tokens, variadic);
    }
}
