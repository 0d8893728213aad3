namespace OnnxTrtForge.Core.Ir;

/// <summary>
/// An operator application. Creating a node registers it as a user of each input and makes it the
/// producer of each output; <see cref="SetInput"/> is the only way to rewire an input.
/// </summary>
public sealed class Node
{
    private readonly List<Value?> inputs = [];
    private readonly List<Value> outputs = [];

    public Node(string domain, string opType, IEnumerable<Value?> inputs, IEnumerable<string> outputNames, IEnumerable<Attribute>? attributes = null, string name = "")
    {
        Domain = domain;
        OpType = opType;
        Name = name;
        foreach (var input in inputs)
        {
            var index = this.inputs.Count;
            this.inputs.Add(input);
            input?.AddUse(this, index);
        }

        foreach (var outputName in outputNames)
        {
            AddOutput(outputName);
        }

        foreach (var attribute in attributes ?? [])
        {
            Attributes[attribute.Name] = attribute;
        }
    }

    /// <summary>"" for the default ONNX domain (ai.onnx).</summary>
    public string Domain { get; set; }

    public string OpType { get; set; }

    public string Name { get; set; }

    public string Overload { get; set; } = "";

    public string DocString { get; set; } = "";

    public Dictionary<string, string> MetadataProps { get; } = [];

    /// <summary>device_configurations kept as serialized bytes for round trips.</summary>
    public List<byte[]> DeviceConfigurations { get; } = [];

    public OrderedDictionary<string, Attribute> Attributes { get; } = new(StringComparer.Ordinal);

    /// <summary>Null entries are omitted optional inputs (empty names in ONNX).</summary>
    public IReadOnlyList<Value?> Inputs => inputs;

    public IReadOnlyList<Value> Outputs => outputs;

    /// <summary>The graph that holds this node, or null while detached.</summary>
    public Graph? Graph { get; internal set; }

    public bool IsOnnxDomain => Domain is "" or "ai.onnx";

    public bool Is(string opType) => IsOnnxDomain && OpType == opType;

    public Value AddOutput(string name)
    {
        var value = new Value(name) { Producer = this, OutputIndex = outputs.Count };
        outputs.Add(value);
        return value;
    }

    public void SetInput(int index, Value? value)
    {
        var old = inputs[index];
        if (ReferenceEquals(old, value))
        {
            return;
        }

        old?.RemoveUse(this, index);
        inputs[index] = value;
        value?.AddUse(this, index);
    }

    public void AddInput(Value? value)
    {
        inputs.Add(value);
        value?.AddUse(this, inputs.Count - 1);
    }

    /// <summary>Unregisters this node from all its inputs (used when it leaves the graph).</summary>
    internal void DetachInputs()
    {
        for (var i = 0; i < inputs.Count; i++)
        {
            inputs[i]?.RemoveUse(this, i);
            inputs[i] = null;
        }
    }

    public Value? Input(int index) => index < inputs.Count ? inputs[index] : null;

    public long GetInt(string name, long fallback) => Attributes.TryGetValue(name, out var a) ? a.I : fallback;

    public float GetFloat(string name, float fallback) => Attributes.TryGetValue(name, out var a) ? a.F : fallback;

    public string GetString(string name, string fallback) => Attributes.TryGetValue(name, out var a) ? a.AsString : fallback;

    public IReadOnlyList<long>? GetInts(string name) => Attributes.TryGetValue(name, out var a) ? a.Ints : null;

    public IEnumerable<Graph> Subgraphs => Attributes.Values.SelectMany(a => a.Subgraphs);

    /// <summary>"OpType" or "domain::OpType" for custom domains; the census key.</summary>
    public string QualifiedOpType => IsOnnxDomain ? OpType : $"{Domain}::{OpType}";

    public override string ToString() => $"{QualifiedOpType}('{Name}')";
}
