namespace OnnxTrtForge.Core.Ir;

/// <summary>
/// A graph: inputs, initializers, nodes in order, outputs. Subgraphs (If/Loop/Scan bodies) are graphs
/// whose <see cref="Parent"/> is the enclosing graph; their nodes may read the enclosing graph's values.
/// </summary>
public sealed class Graph
{
    private readonly List<Node> nodes = [];
    private readonly OrderedDictionary<string, Value> initializers = new(StringComparer.Ordinal);

    public Graph(string name = "", Graph? parent = null)
    {
        Name = name;
        Parent = parent;
        Names = parent?.Names ?? new NameScope();
    }

    public string Name { get; set; }

    public string DocString { get; set; } = "";

    public Graph? Parent { get; }

    /// <summary>Names used in this graph and all graphs nested in the same root.</summary>
    public NameScope Names { get; }

    public List<Value> Inputs { get; } = [];

    public List<Value> Outputs { get; } = [];

    public IReadOnlyList<Node> Nodes => nodes;

    public IEnumerable<Value> Initializers => initializers.Values;

    public int InitializerCount => initializers.Count;

    public Dictionary<string, string> MetadataProps { get; } = [];

    /// <summary>Sparse initializers and quantization annotations, kept as serialized bytes.</summary>
    public List<byte[]> SparseInitializers { get; } = [];

    public List<byte[]> QuantizationAnnotations { get; } = [];

    public Value? FindInitializer(string name) => initializers.TryGetValue(name, out var v) ? v : null;

    public Value AddInput(string name, TypeInfo? type)
    {
        var value = new Value(name, type) { OwnerGraph = this };
        Names.Reserve(name);
        Inputs.Add(value);
        return value;
    }

    /// <summary>Adds an initializer named after the tensor (a fresh name when the tensor has none or it is taken).</summary>
    public Value AddInitializer(Tensor tensor, string? preferredName = null)
    {
        var name = preferredName ?? tensor.Name;
        if (string.IsNullOrEmpty(name) || initializers.ContainsKey(name) || (preferredName is null && Names.Contains(name)))
        {
            name = Names.Fresh(string.IsNullOrEmpty(name) ? "const" : name);
        }

        Names.Reserve(name);
        var value = new Value(name, TypeInfo.OfTensor(tensor.Type, tensor.Dims)) { OwnerGraph = this, Initializer = tensor.Name == name ? tensor : tensor.WithName(name) };
        initializers[name] = value;
        return value;
    }

    /// <summary>Registers an existing initializer value (loader use: an input may also have a default initializer).</summary>
    internal void AttachInitializer(Value value, Tensor tensor)
    {
        value.Initializer = tensor;
        value.OwnerGraph = this;
        initializers[value.Name] = value;
    }

    public void RemoveInitializer(Value value)
    {
        if (value.Uses.Count > 0 || Outputs.Contains(value))
        {
            throw new InvalidOperationException($"initializer '{value.Name}' still has {value.Uses.Count} uses");
        }

        initializers.Remove(value.Name);
        value.Initializer = null;
    }

    /// <summary>Replaces an initializer's payload in place (same value, so its uses stay).</summary>
    public void SetInitializer(Value value, Tensor tensor)
    {
        if (!initializers.ContainsKey(value.Name))
        {
            throw new InvalidOperationException($"'{value.Name}' is not an initializer of this graph");
        }

        value.Initializer = tensor.WithName(value.Name);
        value.Type = TypeInfo.OfTensor(tensor.Type, tensor.Dims);
    }

    public Node Append(Node node)
    {
        Adopt(node);
        nodes.Add(node);
        return node;
    }

    public Node InsertBefore(Node anchor, Node node)
    {
        var index = nodes.IndexOf(anchor);
        if (index < 0)
        {
            throw new InvalidOperationException($"{anchor} is not in graph '{Name}'");
        }

        Adopt(node);
        nodes.Insert(index, node);
        return node;
    }

    /// <summary>Builds a node, names its outputs freshly and inserts it before <paramref name="anchor"/> (or appends).</summary>
    public Node Create(string opType, IEnumerable<Value?> inputs, int outputCount = 1, IEnumerable<Attribute>? attributes = null, Node? anchor = null, string domain = "", string? nameHint = null)
    {
        var hint = nameHint ?? opType;
        var outputNames = Enumerable.Range(0, outputCount).Select(_ => Names.Fresh(hint + "_out")).ToArray();
        var node = new Node(domain, opType, inputs, outputNames, attributes, Names.Fresh(hint));
        return anchor is null ? Append(node) : InsertBefore(anchor, node);
    }

    private void Adopt(Node node)
    {
        if (node.Graph is not null)
        {
            throw new InvalidOperationException($"{node} already belongs to a graph");
        }

        node.Graph = this;
        foreach (var output in node.Outputs)
        {
            Names.Reserve(output.Name);
        }

        if (!string.IsNullOrEmpty(node.Name))
        {
            Names.ReserveNodeName(node.Name);
        }
    }

    /// <summary>Removes a node whose outputs have no uses left; refuses otherwise, so def-use links never go stale.</summary>
    public void Remove(Node node)
    {
        foreach (var output in node.Outputs)
        {
            if (output.Uses.Count > 0 || Outputs.Contains(output))
            {
                throw new InvalidOperationException($"cannot remove {node}: output '{output.Name}' is still used");
            }
        }

        if (!nodes.Remove(node))
        {
            throw new InvalidOperationException($"{node} is not in graph '{Name}'");
        }

        node.DetachInputs();
        node.Graph = null;
    }

    /// <summary>Removes many nodes at once (each must be unused once all of them are gone).</summary>
    public void RemoveAll(IReadOnlySet<Node> doomed)
    {
        foreach (var node in doomed)
        {
            node.DetachInputs();
        }

        foreach (var node in doomed)
        {
            foreach (var output in node.Outputs)
            {
                if (output.Uses.Count > 0 || Outputs.Contains(output))
                {
                    throw new InvalidOperationException($"cannot remove {node}: output '{output.Name}' is still used");
                }
            }

            node.Graph = null;
        }

        nodes.RemoveAll(doomed.Contains);
    }

    /// <summary>Replaces every occurrence of <paramref name="old"/> among the graph outputs.</summary>
    public void ReplaceOutput(Value old, Value replacement)
    {
        for (var i = 0; i < Outputs.Count; i++)
        {
            if (ReferenceEquals(Outputs[i], old))
            {
                Outputs[i] = replacement;
            }
        }
    }

    /// <summary>Puts the nodes in topological order (stable: keeps the current order where it is valid).</summary>
    public void SortTopologically()
    {
        var order = TopologicalOrder(nodes) ?? throw new InvalidOperationException($"graph '{Name}' has a cycle");
        nodes.Clear();
        nodes.AddRange(order);
    }

    /// <summary>Kahn's algorithm over the given nodes (stable by current position); null when they contain a cycle.</summary>
    public static List<Node>? TopologicalOrder(IReadOnlyList<Node> nodeList)
    {
        var position = new Dictionary<Node, int>(nodeList.Count);
        for (var i = 0; i < nodeList.Count; i++)
        {
            position[nodeList[i]] = i;
        }

        var pending = new int[nodeList.Count];
        var users = new List<int>?[nodeList.Count];
        for (var i = 0; i < nodeList.Count; i++)
        {
            foreach (var producer in Dependencies(nodeList[i]).Distinct())
            {
                if (position.TryGetValue(producer, out var p))
                {
                    pending[i]++;
                    (users[p] ??= []).Add(i);
                }
            }
        }

        var ready = new PriorityQueue<int, int>();
        for (var i = 0; i < nodeList.Count; i++)
        {
            if (pending[i] == 0)
            {
                ready.Enqueue(i, i);
            }
        }

        var result = new List<Node>(nodeList.Count);
        while (ready.TryDequeue(out var i, out _))
        {
            result.Add(nodeList[i]);
            foreach (var u in users[i] ?? [])
            {
                if (--pending[u] == 0)
                {
                    ready.Enqueue(u, u);
                }
            }
        }

        return result.Count == nodeList.Count ? result : null;
    }

    /// <summary>The producers a node depends on, including values its subgraphs read from enclosing scopes.</summary>
    private static IEnumerable<Node> Dependencies(Node node)
    {
        foreach (var input in node.Inputs)
        {
            if (input?.Producer is { } p)
            {
                yield return p;
            }
        }

        foreach (var g in node.Subgraphs)
        {
            foreach (var outer in g.OuterReads())
            {
                if (outer.Producer is { } p)
                {
                    yield return p;
                }
            }
        }
    }

    /// <summary>Values from enclosing scopes read by this graph's nodes (recursively), one entry per reading edge.</summary>
    public IEnumerable<Value> OuterReads()
    {
        foreach (var node in nodes)
        {
            foreach (var input in node.Inputs)
            {
                if (input is not null && !IsLocal(input))
                {
                    yield return input;
                }
            }

            foreach (var g in node.Subgraphs)
            {
                foreach (var v in g.OuterReads())
                {
                    if (!IsLocal(v))
                    {
                        yield return v;
                    }
                }
            }
        }

        foreach (var output in Outputs)
        {
            if (!IsLocal(output))
            {
                yield return output;
            }
        }
    }

    /// <summary>True when the value is defined in this graph (input, initializer or node output).</summary>
    public bool IsLocal(Value value) =>
        value.Producer is { } p ? ReferenceEquals(p.Graph, this) : ReferenceEquals(value.OwnerGraph, this);

    /// <summary>The node whose attribute holds this graph (null for the main graph and function bodies).</summary>
    public Node? OwnerNode { get; set; }

    /// <summary>Every node of this graph and its subgraphs, depth first.</summary>
    public IEnumerable<Node> AllNodes()
    {
        foreach (var node in nodes)
        {
            yield return node;
            foreach (var g in node.Subgraphs)
            {
                foreach (var inner in g.AllNodes())
                {
                    yield return inner;
                }
            }
        }
    }

    /// <summary>Census of op types in this graph (subgraphs included), sorted by op.</summary>
    public SortedDictionary<string, int> OpCensus()
    {
        var census = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var node in AllNodes())
        {
            census[node.QualifiedOpType] = census.GetValueOrDefault(node.QualifiedOpType) + 1;
        }

        return census;
    }

}

/// <summary>Names in use across a root graph and its subgraphs; hands out fresh ones.</summary>
public sealed class NameScope
{
    private readonly HashSet<string> values = new(StringComparer.Ordinal);
    private readonly HashSet<string> nodeNames = new(StringComparer.Ordinal);
    private long counter;

    public bool Contains(string name) => values.Contains(name);

    public void Reserve(string name) => values.Add(name);

    public void ReserveNodeName(string name) => nodeNames.Add(name);

    public string Fresh(string hint)
    {
        string name;
        do
        {
            name = $"{hint}_{counter++}";
        }
        while (values.Contains(name) || nodeNames.Contains(name));

        values.Add(name);
        return name;
    }
}
