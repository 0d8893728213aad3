namespace OnnxTrtForge.Core.Ir;

/// <summary>A model: the main graph, opset imports, functions and metadata.</summary>
public sealed class Model : IDisposable
{
    public Model(Graph graph)
    {
        Graph = graph;
    }

    public long IrVersion { get; set; } = 8;

    /// <summary>Domain ("" for ai.onnx) → opset version, in file order.</summary>
    public OrderedDictionary<string, long> OpsetImports { get; } = new(StringComparer.Ordinal);

    public string ProducerName { get; set; } = "";

    public string ProducerVersion { get; set; } = "";

    public string Domain { get; set; } = "";

    public long ModelVersion { get; set; }

    public string DocString { get; set; } = "";

    public Dictionary<string, string> MetadataProps { get; } = [];

    public Graph Graph { get; }

    public List<Function> Functions { get; } = [];

    /// <summary>training_info and configuration entries, kept as serialized bytes for round trips.</summary>
    public List<byte[]> TrainingInfo { get; } = [];

    public List<byte[]> Configurations { get; } = [];

    /// <summary>The file this model was loaded from (null when built in memory).</summary>
    public string? SourcePath { get; set; }

    /// <summary>Memory maps backing the weights; released with the model.</summary>
    public List<MappedFile> MappedFiles { get; } = [];

    public long OnnxOpset => OpsetImports.TryGetValue("", out var v) ? v : OpsetImports.TryGetValue("ai.onnx", out var w) ? w : 0;

    public void Dispose()
    {
        foreach (var file in MappedFiles)
        {
            file.Dispose();
        }

        MappedFiles.Clear();
    }
}

/// <summary>A model-local function (FunctionProto): a body graph whose inputs are the function's formal inputs.</summary>
public sealed class Function(string domain, string name, Graph body)
{
    public string Domain { get; set; } = domain;

    public string Name { get; set; } = name;

    public string Overload { get; set; } = "";

    public Graph Body { get; } = body;

    public List<string> AttributeNames { get; } = [];

    public List<Attribute> AttributeDefaults { get; } = [];

    public OrderedDictionary<string, long> OpsetImports { get; } = new(StringComparer.Ordinal);

    public string DocString { get; set; } = "";

    public Dictionary<string, string> MetadataProps { get; } = [];
}
