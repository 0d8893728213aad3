namespace OnnxTrtForge.Core.Ir;

public enum AttributeType
{
    Undefined = 0,
    Float = 1,
    Int = 2,
    String = 3,
    Tensor = 4,
    Graph = 5,
    Floats = 6,
    Ints = 7,
    Strings = 8,
    Tensors = 9,
    Graphs = 10,
    SparseTensor = 11,
    SparseTensors = 12,
    TypeProto = 13,
    TypeProtos = 14,
}

/// <summary>A node attribute. Exactly the member matching <see cref="Type"/> is set.</summary>
public sealed record Attribute(string Name, AttributeType Type)
{
    public float F { get; init; }

    public long I { get; init; }

    public byte[] S { get; init; } = [];

    public Tensor? T { get; init; }

    public Graph? G { get; init; }

    public IReadOnlyList<float> Floats { get; init; } = [];

    public IReadOnlyList<long> Ints { get; init; } = [];

    public IReadOnlyList<byte[]> Strings { get; init; } = [];

    public IReadOnlyList<Tensor> Tensors { get; init; } = [];

    public IReadOnlyList<Graph> Graphs { get; init; } = [];

    public IReadOnlyList<TypeInfo> TypeInfos { get; init; } = [];

    /// <summary>Sparse tensors kept as opaque serialized bytes (forge never computes on them).</summary>
    public IReadOnlyList<byte[]> SparseTensors { get; init; } = [];

    /// <summary>In a function body: the name of the function attribute this one refers to.</summary>
    public string RefAttrName { get; init; } = "";

    public string DocString { get; init; } = "";

    public string AsString => System.Text.Encoding.UTF8.GetString(S);

    public static Attribute Int(string name, long value) => new(name, AttributeType.Int) { I = value };

    public static Attribute Float(string name, float value) => new(name, AttributeType.Float) { F = value };

    public static Attribute String(string name, string value) => new(name, AttributeType.String) { S = System.Text.Encoding.UTF8.GetBytes(value) };

    public static Attribute IntList(string name, IReadOnlyList<long> values) => new(name, AttributeType.Ints) { Ints = values };

    public static Attribute FloatList(string name, IReadOnlyList<float> values) => new(name, AttributeType.Floats) { Floats = values };

    public static Attribute TensorValue(string name, Tensor value) => new(name, AttributeType.Tensor) { T = value };

    public static Attribute GraphValue(string name, Graph value) => new(name, AttributeType.Graph) { G = value };

    /// <summary>The subgraphs this attribute holds (for If/Loop/Scan bodies).</summary>
    public IEnumerable<Graph> Subgraphs => G is not null ? Graphs.Prepend(G) : Graphs;
}
