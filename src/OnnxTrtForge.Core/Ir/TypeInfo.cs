namespace OnnxTrtForge.Core.Ir;

/// <summary>
/// One dimension of a shape: a known size, a symbolic name, or unknown. An inferred dimension may carry
/// an expression over symbols (<see cref="Expr"/>, e.g. <c>2*batch</c>); its text is then the name
/// written to the file.
/// </summary>
public readonly record struct Dim(long? Value, string? Param)
{
    /// <summary>The expression of an inferred symbolic dimension (null for sizes, plain names and unknowns).</summary>
    public DimExpr? Expr { get; init; }

    public static Dim Of(long value) => new(value, null);

    public static Dim Symbol(string name) => new(null, name);

    /// <summary>A known size for a constant, a plain name for a single symbol, otherwise the expression.</summary>
    public static Dim Of(DimExpr? expr) => expr switch
    {
        null => Unknown,
        { Constant: { } c } => Of(c),
        { SymbolName: { } s } => Symbol(s),
        _ => new Dim(null, expr.Text) { Expr = expr },
    };

    /// <summary>This dimension as an expression: a constant, its expression, its name as a symbol; null when unknown.</summary>
    public DimExpr? AsExpr() => Value is { } v ? DimExpr.Const(v) : Expr ?? (Param is { Length: > 0 } p ? DimExpr.Symbol(p) : null);

    public static readonly Dim Unknown = new(null, null);

    public bool IsKnown => Value.HasValue;

    public override string ToString() => Value?.ToString() ?? Param ?? "?";
}

public enum TypeKind
{
    Tensor,
    SparseTensor,
    Sequence,
    Map,
    Optional,
    Opaque,
}

/// <summary>The type of a value: a tensor type with an optional shape, or a container type.</summary>
public sealed record TypeInfo
{
    public TypeKind Kind { get; init; } = TypeKind.Tensor;

    public DataType ElementType { get; init; }

    /// <summary>Null when the rank is unknown.</summary>
    public IReadOnlyList<Dim>? Shape { get; init; }

    /// <summary>The element type of a sequence or optional, or the value type of a map.</summary>
    public TypeInfo? Inner { get; init; }

    /// <summary>The key type of a map.</summary>
    public DataType KeyType { get; init; }

    public string OpaqueDomain { get; init; } = "";

    public string OpaqueName { get; init; } = "";

    public string Denotation { get; init; } = "";

    /// <summary>Dimension denotations by index, kept for round trips.</summary>
    public IReadOnlyList<string>? DimDenotations { get; init; }

    public static TypeInfo OfTensor(DataType elementType, IReadOnlyList<Dim>? shape = null) =>
        new() { ElementType = elementType, Shape = shape };

    public static TypeInfo OfTensor(DataType elementType, long[] dims) =>
        new() { ElementType = elementType, Shape = dims.Select(Dim.Of).ToArray() };

    public bool HasStaticShape => Shape is not null && Shape.All(d => d.IsKnown);

    public long[]? StaticDims => HasStaticShape ? Shape!.Select(d => d.Value!.Value).ToArray() : null;

    public override string ToString() => Kind switch
    {
        TypeKind.Tensor => Shape is null ? $"{ElementType.OnnxName()}[?]" : $"{ElementType.OnnxName()}[{string.Join(",", Shape)}]",
        TypeKind.Sequence => $"seq({Inner})",
        TypeKind.Optional => $"optional({Inner})",
        TypeKind.Map => $"map({KeyType.OnnxName()},{Inner})",
        TypeKind.SparseTensor => $"sparse({ElementType.OnnxName()})",
        _ => $"opaque({OpaqueDomain}.{OpaqueName})",
    };

    public bool Equals(TypeInfo? other) =>
        other is not null && Kind == other.Kind && ElementType == other.ElementType && KeyType == other.KeyType
        && Equals(Inner, other.Inner) && OpaqueDomain == other.OpaqueDomain && OpaqueName == other.OpaqueName
        && Denotation == other.Denotation
        && (Shape is null ? other.Shape is null : other.Shape is not null && Shape.SequenceEqual(other.Shape));

    public override int GetHashCode() => HashCode.Combine(Kind, ElementType, Shape?.Count ?? -1);
}
