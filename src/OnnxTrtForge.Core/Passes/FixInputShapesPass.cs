using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// Pins graph inputs to the static shapes the user gives (onnx-simplifier's --overwrite-input-shape), so
/// an export with dynamic axes gets the same shape-chain folding as a static one. A symbolic dimension
/// takes the given size; a known dimension must agree; the rank must match. Symbolic dimensions of the
/// same name elsewhere in the graph's declared types (other inputs, outputs, value_info) take the same size.
/// </summary>
public sealed class FixInputShapesPass(IReadOnlyDictionary<string, long[]> shapes) : IGraphPass
{
    public string Name => "fix-input-shapes";

    public PassResult Run(Model model)
    {
        var graph = model.Graph;
        var bindings = new Dictionary<string, long>(StringComparer.Ordinal);
        var changed = 0;
        foreach (var (name, dims) in shapes)
        {
            var input = graph.Inputs.FirstOrDefault(v => v.Name == name && !v.IsInitializer)
                ?? throw new ForgeInputException($"--input-shape {name}: the model has no input '{name}' (inputs: {string.Join(", ", graph.Inputs.Where(v => !v.IsInitializer).Select(v => v.Name))})");
            if (input.Type is not { Kind: TypeKind.Tensor } type)
            {
                throw new ForgeInputException($"--input-shape {name}: input '{name}' is not a tensor of known type");
            }

            if (type.Shape is { } declared)
            {
                if (declared.Count != dims.Length)
                {
                    throw new ForgeInputException($"--input-shape {name}: rank {dims.Length} given, the model declares [{string.Join(",", declared)}]");
                }

                for (var i = 0; i < dims.Length; i++)
                {
                    if (declared[i].Value is { } known && known != dims[i])
                    {
                        throw new ForgeInputException($"--input-shape {name}: dimension {i} is {known} in the model, {dims[i]} given");
                    }

                    if (declared[i].Param is { } symbol && !bindings.TryAdd(symbol, dims[i]) && bindings[symbol] != dims[i])
                    {
                        throw new ForgeInputException($"--input-shape {name}: symbolic dimension '{symbol}' is bound to {bindings[symbol]} by another input, {dims[i]} given");
                    }
                }
            }

            var fixedType = type with { Shape = dims.Select(Dim.Of).ToArray() };
            if (!fixedType.Equals(type))
            {
                input.Type = fixedType;
                changed++;
            }
        }

        // Declared types elsewhere that name the same symbols must agree with the inputs now, the other
        // inputs included: pinning one input's batch pins the batch, its other symbols stay dynamic.
        var others = graph.Inputs.Where(v => !v.IsInitializer && !shapes.ContainsKey(v.Name));
        foreach (var value in others.Concat(graph.Outputs).Concat(graph.Nodes.SelectMany(n => n.Outputs)).Distinct())
        {
            if (value.Type is { Kind: TypeKind.Tensor, Shape: { } shape } t && shape.Any(d => d.Param is { } p && bindings.ContainsKey(p)))
            {
                value.Type = t with { Shape = shape.Select(d => d.Param is { } p && bindings.TryGetValue(p, out var v) ? Dim.Of(v) : d).ToArray() };
                changed++;
            }
        }

        return new PassResult(changed > 0) { Counters = new Dictionary<string, long> { ["types-fixed"] = changed } };
    }
}
