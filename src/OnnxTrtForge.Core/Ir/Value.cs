namespace OnnxTrtForge.Core.Ir;

/// <summary>A use of a value: the node that reads it and the input slot.</summary>
public readonly record struct Use(Node Node, int Index);

/// <summary>
/// A named value in a graph: a graph input, an initializer, or a node output. A value knows its
/// producer and its uses; both are maintained by <see cref="Node"/> and <see cref="Graph"/> only.
/// Values compare by identity.
/// </summary>
public sealed class Value
{
    private readonly List<Use> uses = [];

    public Value(string name, TypeInfo? type = null)
    {
        Name = name;
        Type = type;
    }

    public string Name { get; set; }

    /// <summary>Null when the type is unknown.</summary>
    public TypeInfo? Type { get; set; }

    /// <summary>
    /// True while the dims of <see cref="Type"/> are only what the file declared for a node's output (its
    /// value_info) and shape inference has not computed them: a declaration only annotates, so folding must not
    /// turn those dims into constants (a stale one would become a wrong Shape). Inference clears it.
    /// </summary>
    public bool ShapeUnconfirmed { get; set; }

    public string DocString { get; set; } = "";

    public Dictionary<string, string> MetadataProps { get; } = [];

    /// <summary>The node whose output this is, or null for graph inputs and initializers.</summary>
    public Node? Producer { get; internal set; }

    public int OutputIndex { get; internal set; }

    /// <summary>The constant payload when this value is an initializer.</summary>
    public Tensor? Initializer { get; internal set; }

    /// <summary>The graph that owns this value as an input or initializer (null for node outputs).</summary>
    public Graph? OwnerGraph { get; internal set; }

    public IReadOnlyList<Use> Uses => uses;

    public bool IsInitializer => Initializer is not null;

    public bool IsGraphInput => OwnerGraph is not null && OwnerGraph.Inputs.Contains(this);

    internal void AddUse(Node node, int index) => uses.Add(new Use(node, index));

    internal void RemoveUse(Node node, int index)
    {
        var i = uses.IndexOf(new Use(node, index));
        if (i < 0)
        {
            throw new InvalidOperationException($"value '{Name}' has no use by node '{node.Name}' at input {index}");
        }

        uses.RemoveAt(i);
    }

    /// <summary>Rewires every use of this value (node inputs and graph outputs) to <paramref name="replacement"/>.</summary>
    public void ReplaceAllUsesWith(Value replacement, Graph graph)
    {
        if (ReferenceEquals(replacement, this))
        {
            return;
        }

        foreach (var use in uses.ToArray())
        {
            use.Node.SetInput(use.Index, replacement);
        }

        graph.ReplaceOutput(this, replacement);
    }

    public override string ToString() => Type is null ? Name : $"{Name}: {Type}";
}
