using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Reports;

public sealed record TensorSignature(string Name, string ElementType, IReadOnlyList<string> Shape);

/// <summary>What <c>forge inspect</c> reports about a model.</summary>
public sealed record ModelSummary
{
    public required string Path { get; init; }

    public required string Producer { get; init; }

    public required long IrVersion { get; init; }

    public required IReadOnlyDictionary<string, long> Opsets { get; init; }

    public required IReadOnlyList<TensorSignature> Inputs { get; init; }

    public required IReadOnlyList<TensorSignature> Outputs { get; init; }

    public required IReadOnlyDictionary<string, int> OpCensus { get; init; }

    public required int Nodes { get; init; }

    public required int Initializers { get; init; }

    public required long WeightBytesEmbedded { get; init; }

    public required long WeightBytesExternal { get; init; }

    public required IReadOnlyList<string> ExternalFiles { get; init; }

    public required int Functions { get; init; }

    public static ModelSummary Of(Model model, string path)
    {
        long embedded = 0, external = 0;
        var files = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var init in model.Graph.Initializers)
        {
            var data = init.Initializer!.Data;
            if (data is MappedTensorData { IsExternal: true } mapped)
            {
                external += data.Length;
                files.Add(System.IO.Path.GetFileName(mapped.FilePath));
            }
            else
            {
                embedded += data.Length;
            }
        }

        var census = model.Graph.OpCensus();
        return new ModelSummary
        {
            Path = path,
            Producer = (model.ProducerName + " " + model.ProducerVersion).Trim(),
            IrVersion = model.IrVersion,
            Opsets = model.OpsetImports.ToDictionary(kv => kv.Key.Length == 0 ? "ai.onnx" : kv.Key, kv => kv.Value),
            Inputs = model.Graph.Inputs.Where(v => !v.IsInitializer).Select(Signature).ToList(),
            Outputs = model.Graph.Outputs.Select(Signature).ToList(),
            OpCensus = census,
            Nodes = census.Values.Sum(),
            Initializers = model.Graph.InitializerCount,
            WeightBytesEmbedded = embedded,
            WeightBytesExternal = external,
            ExternalFiles = files.ToList(),
            Functions = model.Functions.Count,
        };
    }

    public static TensorSignature Signature(Value value) => new(
        value.Name,
        value.Type is { Kind: TypeKind.Tensor } t ? t.ElementType.OnnxName() : value.Type?.ToString() ?? "?",
        value.Type?.Shape?.Select(d => d.ToString()).ToList() ?? []);
}
