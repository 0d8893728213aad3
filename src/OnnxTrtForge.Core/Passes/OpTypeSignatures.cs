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

    /// <summary>Must be bool whatever T is (Where's condition).</summary>
    Bool,

    /// <summary>Must be int64 whatever T is (the shape of Reshape, Expand, ConstantOfShape; Tile's repeats).</summary>
    Int64,
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

    /// <summary>Parses "T,Any->T,Int64" (inputs, outputs; a trailing '*' repeats the last slot).</summary>
    public static OpTypeSignature Parse(string spec)
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

/// <summary>
/// The element-type rules of the op-schema table (<see cref="Ops.OpSchemas"/>), by node and opset: a rule holds
/// from its version's since-opset until the next version of the same op (BatchNormalization ties X, scale, B,
/// mean and var to one T before opset 14, mean/var to U at 14 and scale/B to T1 at 15; Pow's exponent is T
/// before opset 12; Resize-10 reads float32 scales at input 1). Ops without a rule are unknown: their declared
/// types are trusted and passes must not retype them.
/// </summary>
public static class OpTypeSignatures
{
    /// <summary>
    /// The signature of an ai.onnx node at <paramref name="opset"/> (the model's ai.onnx import; 0 when
    /// unknown takes the newest), of a known contrib node, or null for control flow, other domains and unlisted ops.
    /// </summary>
    public static OpTypeSignature? Of(Node node, long opset) => Ops.OpSchemas.Default.Find(node, opset)?.Types;

    public static bool IsControlFlow(Node node) => node.IsOnnxDomain && node.OpType is "If" or "Loop" or "Scan";
}
