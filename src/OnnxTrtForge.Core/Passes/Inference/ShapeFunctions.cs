using OnnxTrtForge.Core.Evaluation;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes.Inference;

/// <summary>
/// What a shape function sees: the node, the opset, the constant values of inputs (shape tensors, axes) and
/// the partly known int64 values of others (dynamic shape tensors), element by element.
/// </summary>
public sealed class ShapeContext(Node node, long opset, Func<Value, HostTensor?> constantOf, Func<Value, DimExpr?[]?>? valueOf)
{
    public Node Node { get; } = node;

    public long Opset { get; } = opset;

    public Func<Value, HostTensor?> ConstantOf { get; } = constantOf;

    /// <summary>The first input's shape (null when its rank is unknown).</summary>
    public DimExpr?[]? First => ShapeInference.SymShape(Node.Input(0));

    /// <summary>The first input's element type.</summary>
    public DataType Type => Node.Input(0)?.Type?.ElementType ?? DataType.Undefined;

    /// <summary>Every input's shape.</summary>
    public IReadOnlyList<DimExpr?[]?> Shapes => Node.Inputs.Select(ShapeInference.SymShape).ToList();

    public DimExpr?[]? ShapeOf(int index) => ShapeInference.SymShape(Node.Input(index));

    /// <summary>The constant integer values of input <paramref name="index"/>, or null.</summary>
    public long[]? Const(int index) => Node.Input(index) is { } v ? ConstantOf(v)?.AsLongs() : null;

    /// <summary>The values of an int64 vector input as dims: constant, or partly known, or null.</summary>
    public DimExpr?[]? Vector(int index) => Node.Input(index) is not { } v ? null
        : Const(index) is { } c ? c.Select(x => (DimExpr?)DimExpr.Const(x)).ToArray()
        : valueOf?.Invoke(v);

    /// <summary>One entry per output: the first typed as given (nothing when the type is unknown), the others unknown.</summary>
    public TypeInfo?[] One(DataType type, DimExpr?[]? shape)
    {
        var result = new TypeInfo?[Node.Outputs.Count];
        if (result.Length > 0 && type != DataType.Undefined)
        {
            result[0] = TypeInfo.OfTensor(type, shape?.Select(Dim.Of).ToArray());
        }

        return result;
    }
}

/// <summary>Computes a node's output types and shapes (one entry per output, null where nothing is known).</summary>
public delegate TypeInfo?[] ShapeFunction(ShapeContext context);

/// <summary>
/// The shape functions the op-schema table (<see cref="Ops.OpSchemas"/>) refers to. Each adapts one of
/// <see cref="ShapeInference"/>'s per-op functions, where the computations and their conflict checks live.
/// </summary>
public static class ShapeFunctions
{
    public static TypeInfo?[] SameAsInput(ShapeContext c) => c.One(c.Type, c.First);

    public static TypeInfo?[] Broadcasting(ShapeContext c) => c.One(c.Type, ShapeInference.Broadcast(c.Node, c.Shapes));

    public static TypeInfo?[] BroadcastingToBool(ShapeContext c) => c.One(DataType.Bool, ShapeInference.Broadcast(c.Node, c.Shapes));

    /// <summary>ONNX-1 broadcasting (before opset 7; Sum/Mean/Max/Min before 8): B onto A, the output has A's shape.</summary>
    public static TypeInfo?[] LegacyBroadcasting(ShapeContext c) => c.One(c.Type, c.First);

    public static TypeInfo?[] LegacyBroadcastingToBool(ShapeContext c) => c.One(DataType.Bool, c.First);

    public static TypeInfo?[] Where(ShapeContext c) =>
        c.One(c.Node.Input(1)?.Type?.ElementType ?? DataType.Undefined, ShapeInference.Broadcast(c.Node, c.Shapes));

    public static TypeInfo?[] Cast(ShapeContext c) => c.One((DataType)c.Node.GetInt("to", 0), c.First);

    public static TypeInfo?[] CastLike(ShapeContext c) => c.One(c.Node.Input(1)?.Type?.ElementType ?? DataType.Undefined, c.First);

    public static TypeInfo?[] Shape(ShapeContext c) =>
        c.One(DataType.Int64, c.First is { } first ? [DimExpr.Const(ShapeInference.ShapeLength(first.Length, c.Node, c.Opset))] : [null]);

    public static TypeInfo?[] Size(ShapeContext c) => c.One(DataType.Int64, []);

    public static TypeInfo?[] MatMul(ShapeContext c) => c.One(c.Type, ShapeInference.MatMul(c.Node, c.First, c.ShapeOf(1)));

    public static TypeInfo?[] Gemm(ShapeContext c) => c.One(c.Type, ShapeInference.Gemm(c.Node, c.First, c.ShapeOf(1)));

    public static TypeInfo?[] Conv(ShapeContext c) => c.One(c.Type, ShapeInference.Conv(c.Node, c.First, c.ShapeOf(1)));

    public static TypeInfo?[] Einsum(ShapeContext c) => c.One(c.Type, ShapeInference.Einsum(c.Node, c.Shapes));

    public static TypeInfo?[] Reshape(ShapeContext c) => c.One(c.Type, ShapeInference.Reshape(c.Node, c.First, c.Vector(1)));

    public static TypeInfo?[] Resize(ShapeContext c) =>
        c.One(c.Type, ShapeInference.Resize(c.Node, c.First, c.Opset, c.Const, c.Node.Input(c.Opset >= 11 ? 2 : 1) is { } s ? c.ConstantOf(s) : null));

    public static TypeInfo?[] Gather(ShapeContext c) => c.One(c.Type, ShapeInference.Gather(c.Node, c.First, c.ShapeOf(1)));

    public static TypeInfo?[] Concat(ShapeContext c) => c.One(c.Type, ShapeInference.Concat(c.Node, c.Shapes));

    public static TypeInfo?[] Slice(ShapeContext c) => c.One(c.Type, ShapeInference.Slice(c.Node, c.First, c.Opset, c.Const));

    public static TypeInfo?[] Transpose(ShapeContext c) => c.One(c.Type, ShapeInference.Transpose(c.Node, c.First));

    public static TypeInfo?[] Unsqueeze(ShapeContext c) => c.One(c.Type, ShapeInference.Unsqueeze(c.First, OpArguments.SqueezeAxes(c.Node, c.Opset, c.Const)));

    public static TypeInfo?[] Squeeze(ShapeContext c) => c.One(c.Type, ShapeInference.Squeeze(c.First, OpArguments.SqueezeAxes(c.Node, c.Opset, c.Const)));

    public static TypeInfo?[] Flatten(ShapeContext c) => c.One(c.Type, ShapeInference.Flatten(c.Node, c.First));

    public static TypeInfo?[] Expand(ShapeContext c) =>
        c.One(c.Type, c.Vector(1) is { } shape && c.First is { } first ? ShapeInference.Broadcast(c.Node, [first, shape]) : null);

    public static TypeInfo?[] ConstantOfShape(ShapeContext c) => c.One(ShapeInference.ConstantOfShapeType(c.Node), c.Vector(0));

    public static TypeInfo?[] Range(ShapeContext c) => c.One(c.Type, ShapeInference.Range(c.Node, c.ConstantOf));

    public static TypeInfo?[] Constant(ShapeContext c) =>
        ShapeInference.Constant(c.Node) is { } constant ? c.One(constant.Item1, constant.Item2) : c.One(DataType.Undefined, null);

    public static TypeInfo?[] Reduce(ShapeContext c) => c.One(c.Type, ShapeInference.Reduce(c.Node, c.First, OpArguments.ReduceAxes(c.Node, c.Opset, c.Const)));

    public static TypeInfo?[] Split(ShapeContext c) => ShapeInference.Split(c.Node, c.First, c.Type, c.Opset, c.Const);
}
