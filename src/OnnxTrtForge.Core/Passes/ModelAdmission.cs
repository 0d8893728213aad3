using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Ops;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// What forge refuses before any pass runs, because nothing it computes on such a model could be trusted:
/// an opset of a domain the op-schema table covers (ai.onnx: 1 to <see cref="MaxKnownOnnxOpset"/>; com.microsoft: 1)
/// that the table does not know, a node whose domain the model does not import (its version, hence its meaning,
/// is undefined), a default-domain op name ONNX does not define or that the model's opset predates, a node with
/// an input count its op's version never takes or an element-type attribute (Cast's <c>to</c>, a generator's
/// <c>dtype</c>: the table's <see cref="OpSchema.DataTypeAttributes"/>) that names no ONNX type, a graph with no
/// outputs, and element types that conflict in the computation itself (<see cref="TypeConsistencyChecker"/>: an
/// Add of int64 and float, a Reshape whose shape is float; ONNX Runtime refuses such a model at load). A
/// declaration that disagrees with what the graph computes (a stale value_info) is not refused here: passes drop
/// or repair it. Ops of imported domains the table does not cover pass through untouched, as opaque, their
/// declared types trusted. Each is one <see cref="ForgeInputException"/> (exit 2) naming the file and the place.
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
            .Concat(model.Functions.SelectMany(f => Nodes(f.Body, $"function '{f.Domain}.{f.Name}'").Select(n => (n.Node, n.Place, Opset: OnnxOpsetOf(f.OpsetImports, model.OnnxOpset)))))
            .ToList();
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

            var schema = domain.Length == 0 ? schemas.Find("", node.OpType, opset) : null;
            if (schema is { InputCount: var (min, max) } && (node.Inputs.Count < min || node.Inputs.Count > max))
            {
                var expected = min == max ? $"{min}" : max == int.MaxValue ? $"{min} or more" : $"{min} to {max}";
                throw new ForgeInputException($"{file}: {place}: node '{node.Name}' ({node.OpType}) has {node.Inputs.Count} input(s); the op takes {expected} at opset {opset}");
            }

            foreach (var attribute in schema?.DataTypeAttributes ?? [])
            {
                if (!node.Attributes.TryGetValue(attribute.Name, out var value))
                {
                    if (attribute.Required)
                    {
                        throw new ForgeInputException($"{file}: {place}: node '{node.Name}' ({node.OpType}) has no '{attribute.Name}' attribute: the op needs the element type it names");
                    }
                }
                else if (string.IsNullOrEmpty(value.RefAttrName) && (value.Type != AttributeType.Int || !attribute.Admits(value.I)))
                {
                    var what = value.Type == AttributeType.Int ? $"{value.I}" : $"a {value.Type} attribute";
                    throw new ForgeInputException($"{file}: {place}: node '{node.Name}' ({node.OpType}) attribute '{attribute.Name}' is {what}, which is not an ONNX element type (TensorProto.DataType)");
                }
            }
        }

        // element types, inferred over the whole input before any pass: a conflict between facts is the model's own
        var placeOf = nodes.ToDictionary(n => n.Node, n => n.Place);
        if (TypeConsistencyChecker.Check(model).Conflicts.FirstOrDefault() is { } conflict)
        {
            var place = conflict.Node is { } n && placeOf.TryGetValue(n, out var p) ? p : $"graph '{model.Graph.Name}'";
            throw new ForgeInputException($"{file}: {place}: element types conflict: {conflict.Message}");
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
