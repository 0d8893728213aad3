using OnnxTrtForge.Core.Evaluation;
using OnnxTrtForge.Core.Passes;
using OnnxTrtForge.Core.Passes.Inference;

namespace OnnxTrtForge.Core.Ops;

/// <summary>
/// How an op behaves under <c>to-fp16</c>: from which opset the ONNX schema's type variable admits float16
/// and bfloat16 (<see cref="Never"/> when it never does), whether the default op block list keeps it in
/// float32, and whether it is a heavy compute op (Conv, MatMul...) whose Casts cost more in the planner's cut.
/// </summary>
public sealed record HalfBehaviour
{
    /// <summary>An opset no model reaches: the type never joins the op's type variable.</summary>
    public const long Never = long.MaxValue;

    /// <summary>Most ops: float16 from their first version, bfloat16 from opset 13.</summary>
    public static HalfBehaviour Default { get; } = new();

    public long Fp16Since { get; init; } = 1;

    public long Bf16Since { get; init; } = 13;

    /// <summary>In <see cref="Passes.Fp16.Fp16Options.DefaultOpBlockList"/>: computes in float32 unless the user edits the list.</summary>
    public bool KeepFloat32ByDefault { get; init; }

    /// <summary>A heavy compute op: the planner weighs its Casts higher and an fp16 one marks a model as already converted.</summary>
    public bool Heavy { get; init; }

    /// <summary>True when the op's schema at <paramref name="opset"/> admits <paramref name="half"/> (float16 or bfloat16) for its type variable.</summary>
    public bool Admits(Ir.DataType half, long opset) => opset >= (half == Ir.DataType.BFloat16 ? Bf16Since : Fp16Since);
}

/// <summary>
/// An attribute that names an element type: <paramref name="Required"/> when the node means nothing without it
/// (Cast's <c>to</c>); <paramref name="ZeroInfers"/> when 0 (UNDEFINED) is the documented "not supplied, inferred"
/// value (QuantizeLinear's <c>output_dtype</c>).
/// </summary>
public sealed record DataTypeAttribute(string Name, bool Required = false, bool ZeroInfers = false)
{
    /// <summary>Whether <paramref name="value"/> is an admissible value of the attribute.</summary>
    public bool Admits(long value) => Ir.DataTypes.IsDefined(value) || (ZeroInfers && value == 0);
}

/// <summary>
/// Everything forge knows about one version of one op, keyed by (domain, name, opset range): its element-type
/// rule, its shape function and data propagation, its constant-folding evaluator, whether two nodes with the same inputs and attributes
/// compute the same values (CSE and folding), whether TensorRT's ONNX parser takes it, and its fp16 behaviour.
/// The version holds from <see cref="Since"/> up to, not including, <see cref="Until"/> (the next version).
/// </summary>
public sealed record OpSchema(string Domain, string Name, long Since)
{
    /// <summary>The since-version of the next version of the op; <see cref="long.MaxValue"/> for the newest.</summary>
    public long Until { get; init; } = long.MaxValue;

    /// <summary>The element-type rule; null when forge does not model it (declared types are trusted, passes never retype the node).</summary>
    public OpTypeSignature? Types { get; init; }

    /// <summary>The output types and shapes from the inputs; null when inference knows nothing of the op.</summary>
    public ShapeFunction? Shape { get; init; }

    /// <summary>Data propagation (ONNX's term): the int64 shape value the op computes from known shape values; null when none.</summary>
    internal ShapeValueTracker.ValueFunction? Value { get; init; }

    /// <summary>The constant-folding evaluator; null when forge never folds the op.</summary>
    public OpEvaluator? Evaluator { get; init; }

    /// <summary>Whether the evaluator's result on uint64 inputs is the same whether their bits are read signed or unsigned.</summary>
    public bool EvaluatesUInt64 { get; init; }

    /// <summary>Whether the evaluator's result on floating-point inputs is ONNX Runtime's bit for bit (false: only integer inputs fold).</summary>
    public bool EvaluatesReals { get; init; } = true;

    /// <summary>Same inputs and attributes give the same values (false for random generators and Dropout): CSE may merge, folding may evaluate.</summary>
    public bool Deterministic { get; init; } = true;

    /// <summary>TensorRT's ONNX parser takes the op (onnx-tensorrt's operator matrix).</summary>
    public bool TensorRtParsable { get; init; }

    public HalfBehaviour Half { get; init; } = HalfBehaviour.Default;

    /// <summary>How many inputs a node of the op takes, where ONNX fixes it (optional inputs counted in the
    /// maximum, <see cref="int.MaxValue"/> for variadic ops); null where the table does not say. ONNX Runtime
    /// refuses a node outside it at load.</summary>
    public (int Min, int Max)? InputCount { get; init; }

    /// <summary>The attributes whose value is an ONNX TensorProto.DataType (Cast's <c>to</c>, the generators'
    /// <c>dtype</c>...): a value ONNX does not define makes the node meaningless, and ONNX Runtime refuses it at load.</summary>
    public IReadOnlyList<DataTypeAttribute> DataTypeAttributes { get; init; } = [];

    /// <summary>Whether this version is the one a model importing <paramref name="opset"/> of the domain uses.</summary>
    public bool Covers(long opset) => opset >= Since && opset < Until;

    public string QualifiedName => Domain.Length == 0 ? Name : $"{Domain}.{Name}";

    public override string ToString() => $"{QualifiedName} (opset {Since}{(Until == long.MaxValue ? "+" : $"-{Until - 1}")})";
}
