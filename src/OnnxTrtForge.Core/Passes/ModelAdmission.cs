using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Ops;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// What forge refuses before any pass runs, because nothing it computes on such a model could be trusted:
/// an opset of a domain the op-schema table covers (ai.onnx: 1 to <see cref="MaxKnownOnnxOpset"/>; com.microsoft: 1)
/// that the table does not know, a node whose domain the model does not import (its version, hence its meaning,
/// is undefined), a default-domain op name ONNX does not define or that the model's opset predates, and a graph
/// with no outputs. Ops of imported domains the table does not cover pass through
/// untouched, as opaque. Each is one <see cref="ForgeInputException"/> (exit 2) naming the file and the place.
/// </summary>
public static class ModelAdmission
{
    /// <summary>The newest default-domain opset forge's op knowledge covers.</summary>
    public const long MaxKnownOnnxOpset = OpSchemas.MaxKnownOnnxOpset;

    public static void Check(Model model) => Check(model, OpSchemas.Default);

    public static void Check(Model model, OpSchemaTable schemas)
    {
        var file = model.SourcePath ?? "model";
        foreach (var (domain, version) in model.OpsetImports)
        {
            var key = domain is "ai.onnx" ? "" : domain;
            if (schemas.Domains.TryGetValue(key, out var known) && (version < known.Min || version > known.Max))
            {
                var name = key.Length == 0 ? "default-domain" : $"'{key}'";
                throw new ForgeInputException($"{file}: opset_import: {name} opset {version} is not one forge knows ({known.Min} to {known.Max})");
            }
        }

        if (model.Graph.Outputs.Count == 0)
        {
            throw new ForgeInputException($"{file}: graph '{model.Graph.Name}' has no outputs: nothing to compute");
        }

        var functions = model.Functions.Select(f => (f.Domain, f.Name)).ToHashSet();
        var nodes = Nodes(model.Graph, $"graph '{model.Graph.Name}'").Select(n => (n.Node, n.Place, Opset: model.OnnxOpset))
            .Concat(model.Functions.SelectMany(f => Nodes(f.Body, $"function '{f.Domain}.{f.Name}'").Select(n => (n.Node, n.Place, Opset: OnnxOpsetOf(f.OpsetImports, model.OnnxOpset)))));
        foreach (var (node, place, opset) in nodes)
        {
            var domain = node.Domain is "ai.onnx" ? "" : node.Domain;
            var imported = model.OpsetImports.ContainsKey(domain) || (domain == "" && model.OpsetImports.ContainsKey("ai.onnx"));
            if (!imported && !functions.Contains((node.Domain, node.OpType)))
            {
                throw new ForgeInputException($"{file}: {place}: node '{node.Name}' ({(domain.Length == 0 ? "" : domain + ".")}{node.OpType}) is from domain '{(domain.Length == 0 ? "ai.onnx" : domain)}', which the model does not import (opset_import)");
            }

            if (domain.Length == 0 && !schemas.Knows("", node.OpType) && !functions.Contains((node.Domain, node.OpType)))
            {
                throw new ForgeInputException($"{file}: {place}: node '{node.Name}' is op '{node.OpType}', which is not an ai.onnx operator (opset 1 to {schemas.MaxOnnxOpset})");
            }

            if (domain.Length == 0 && opset > 0 && schemas.FirstVersion("", node.OpType) is { } first && opset < first.Since)
            {
                throw new ForgeInputException($"{file}: {place}: node '{node.Name}' ({node.OpType}) needs default-domain opset {first.Since} or later; the model imports opset {opset}");
            }

            if (domain.Length == 0 && schemas.Find("", node.OpType, opset) is { InputCount: var (min, max) } && (node.Inputs.Count < min || node.Inputs.Count > max))
            {
                var expected = min == max ? $"{min}" : $"{min} to {max}";
                throw new ForgeInputException($"{file}: {place}: node '{node.Name}' ({node.OpType}) has {node.Inputs.Count} input(s); the op takes {expected}");
            }
        }
    }

    private static long OnnxOpsetOf(IReadOnlyDictionary<string, long> imports, long fallback) =>
        imports.TryGetValue("", out var v) ? v : imports.TryGetValue("ai.onnx", out var w) ? w : fallback;

    private static IEnumerable<(Node Node, string Place)> Nodes(Graph graph, string place)
    {
        foreach (var node in graph.Nodes)
        {
            yield return (node, place);
            foreach (var sub in node.Subgraphs)
            {
                foreach (var inner in Nodes(sub, $"{place}, subgraph of '{node.Name}'"))
                {
                    yield return inner;
                }
            }
        }
    }
}
