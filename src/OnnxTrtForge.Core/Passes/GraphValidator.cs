using OnnxTrtForge.Core.Evaluation;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes.Inference;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// Structural checks on an optimized model (not a pass: it changes nothing): nodes in topological
/// order, every input defined before use (outer scopes visible in subgraphs), value names unique in
/// every scope (a graph and the graphs enclosing it), graph outputs defined, element types consistent with the schemas of common
/// ops wherever they are known, and declared shapes consistent with shape inference (main graph). The first problem is a <see cref="PassFailedException"/> naming the node.
/// </summary>
public static class GraphValidator
{
    /// <summary>Ops whose inputs (all of them, or the listed slots) share one element type, which the output has too.</summary>
    private static readonly HashSet<string> SameTypeInOut = new(StringComparer.Ordinal)
    {
        "Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Mean", "MatMul", "Gemm", "Conv", "ConvTranspose", "Concat", "Mod",
    };

    /// <summary>Ops whose first input and first output share an element type.</summary>
    private static readonly HashSet<string> FirstInputTypeOut = new(StringComparer.Ordinal)
    {
        "Identity", "Relu", "Sigmoid", "Tanh", "Erf", "Sqrt", "Neg", "Abs", "Exp", "Log", "Sin", "Cos", "Reciprocal", "Floor", "Ceil",
        "Softmax", "LogSoftmax", "Transpose", "Reshape", "Unsqueeze", "Squeeze", "Flatten", "Expand", "Slice", "Gather", "Tile", "Pad",
        "Resize", "InstanceNormalization", "LayerNormalization", "GroupNormalization", "BatchNormalization", "Split", "Pow",
        "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "LeakyRelu", "Gelu", "Einsum", "Dropout", "GatherElements", "DepthToSpace", "SpaceToDepth",
    };

    private static readonly HashSet<string> Comparisons = new(StringComparer.Ordinal)
    {
        "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
    };

    private static readonly HashSet<string> Logical = new(StringComparer.Ordinal) { "And", "Or", "Xor", "Not" };

    /// <summary>Op → input slot that must be an int64 tensor (shapes, repeats, axes).</summary>
    private static readonly Dictionary<string, int> Int64Slot = new(StringComparer.Ordinal)
    {
        ["Reshape"] = 1, ["Expand"] = 1, ["Tile"] = 1, ["ConstantOfShape"] = 0,
    };

    public static void Validate(Model model)
    {
        var names = new Dictionary<string, Value>(StringComparer.Ordinal);
        Check(model.Graph, new HashSet<Value>(), names);
        CheckShapes(model);
    }

    /// <summary>
    /// Shapes as well as types: every main-graph node's declared output shapes must agree with what shape
    /// inference computes from its inputs (another rank, or another size where both are sizes, is a
    /// failure), and no node's computation may conflict (a Reshape that cannot hold its input, ...).
    /// </summary>
    private static void CheckShapes(Model model)
    {
        var tracker = new ShapeValueTracker();
        var cache = new Dictionary<Value, HostTensor?>();
        foreach (var node in model.Graph.Nodes)
        {
            TypeInfo?[] inferred;
            try
            {
                inferred = ShapeInference.Infer(node, v => ShapeInferencePass.ConstantOf(v, cache), model.OnnxOpset, v => tracker.Get(v)?.Elements);
            }
            catch (ForgeInputException e)
            {
                throw new PassFailedException(e.Message, e);
            }

            tracker.Propagate(node, model.OnnxOpset);
            for (var i = 0; i < inferred.Length; i++)
            {
                var output = node.Outputs[i];
                if (inferred[i]?.Shape is not { } computed || output.Type is not { Kind: TypeKind.Tensor, Shape: { } declared })
                {
                    continue;
                }

                var mismatch = declared.Count != computed.Count
                    || declared.Zip(computed).Any(p => p.First.Value is { } a && p.Second.Value is { } b && a != b);
                if (mismatch)
                {
                    throw Fail(node, $"output '{output.Name}' is declared {output.Type} but computes {inferred[i]}");
                }
            }
        }
    }

    private static void Check(Graph graph, HashSet<Value> outer, Dictionary<string, Value> names)
    {
        var defined = new HashSet<Value>(outer);
        var position = new Dictionary<Node, int>();
        for (var i = 0; i < graph.Nodes.Count; i++)
        {
            position[graph.Nodes[i]] = i;
        }

        foreach (var value in graph.Inputs.Concat(graph.Initializers))
        {
            if (defined.Add(value))
            {
                Declare(graph, null, value, names);
            }
        }

        foreach (var node in graph.Nodes)
        {
            for (var i = 0; i < node.Inputs.Count; i++)
            {
                if (node.Inputs[i] is not { } input || defined.Contains(input))
                {
                    continue;
                }

                var why = input.Producer is { } p && p.Graph == graph && position.TryGetValue(p, out var at) && at > position[node]
                    ? $"is produced later by '{p.Name}' (not in topological order)"
                    : "is not defined in this graph or an enclosing one";
                throw Fail(node, $"input {i} '{input.Name}' {why}");
            }

            foreach (var sub in node.Subgraphs)
            {
                // A subgraph sees the names of its enclosing scopes; sibling subgraphs may reuse names.
                Check(sub, defined, new Dictionary<string, Value>(names, StringComparer.Ordinal));
            }

            foreach (var output in node.Outputs)
            {
                if (!defined.Add(output))
                {
                    throw Fail(node, $"output '{output.Name}' is defined twice");
                }

                Declare(graph, node, output, names);
            }

            CheckTypes(node);
        }

        foreach (var output in graph.Outputs)
        {
            if (!defined.Contains(output))
            {
                throw new PassFailedException($"graph '{graph.Name}': output '{output.Name}' is not defined");
            }
        }
    }

    private static void Declare(Graph graph, Node? node, Value value, Dictionary<string, Value> names)
    {
        if (string.IsNullOrEmpty(value.Name))
        {
            return;
        }

        if (names.TryGetValue(value.Name, out var other) && !ReferenceEquals(other, value))
        {
            var where = node is null ? $"graph '{graph.Name}'" : Describe(node);
            throw new PassFailedException($"{where}: value name '{value.Name}' is used by two different values");
        }

        names[value.Name] = value;
    }

    private static void CheckTypes(Node node)
    {
        if (!node.IsOnnxDomain)
        {
            return;
        }

        var op = node.OpType;
        var out0 = node.Outputs.Count > 0 ? TypeOf(node.Outputs[0]) : null;
        if (op == "Cast")
        {
            var to = (DataType)node.GetInt("to", 0);
            if (out0 is { } t && t != to)
            {
                throw Fail(node, $"Cast to {to.OnnxName()} but its output '{node.Outputs[0].Name}' is typed {t.OnnxName()}");
            }

            return;
        }

        if (SameTypeInOut.Contains(op) || Comparisons.Contains(op) || Logical.Contains(op) || op == "Where")
        {
            var slots = op == "Where" ? Enumerable.Range(1, 2) : op is "Gemm" or "Conv" or "ConvTranspose" ? Enumerable.Range(0, Math.Min(node.Inputs.Count, 3)) : Enumerable.Range(0, node.Inputs.Count);
            DataType? common = null;
            foreach (var i in slots)
            {
                if (node.Input(i) is { } v && TypeOf(v) is { } t)
                {
                    if (common is { } c && c != t)
                    {
                        throw Fail(node, $"input {i} '{v.Name}' is {t.OnnxName()} but an earlier input is {c.OnnxName()}");
                    }

                    common = t;
                }
            }

            var expected = Comparisons.Contains(op) || Logical.Contains(op) ? DataType.Bool : common;
            if (expected is { } e && out0 is { } o && o != e)
            {
                throw Fail(node, $"output '{node.Outputs[0].Name}' is {o.OnnxName()}, expected {e.OnnxName()}");
            }

            if (op == "Where" && node.Input(0) is { } cond && TypeOf(cond) is { } ct && ct != DataType.Bool)
            {
                throw Fail(node, $"condition '{cond.Name}' is {ct.OnnxName()}, expected bool");
            }

            return;
        }

        if (op == "Shape" || op == "Size")
        {
            if (out0 is { } o && o != DataType.Int64)
            {
                throw Fail(node, $"output '{node.Outputs[0].Name}' is {o.OnnxName()}, expected int64");
            }

            return;
        }

        if (Int64Slot.TryGetValue(op, out var slot) && node.Input(slot) is { } shape && TypeOf(shape) is { } st && st != DataType.Int64)
        {
            throw Fail(node, $"input {slot} '{shape.Name}' is {st.OnnxName()}, expected int64");
        }

        if (FirstInputTypeOut.Contains(op) && node.Input(0) is { } x && TypeOf(x) is { } xt)
        {
            foreach (var output in op is "Split" ? node.Outputs : node.Outputs.Take(1))
            {
                if (TypeOf(output) is { } ot && ot != xt)
                {
                    throw Fail(node, $"output '{output.Name}' is {ot.OnnxName()} but input '{x.Name}' is {xt.OnnxName()}");
                }
            }
        }
    }

    private static DataType? TypeOf(Value value) =>
        value.Type is { Kind: TypeKind.Tensor, ElementType: not DataType.Undefined } t ? t.ElementType : null;

    private static string Describe(Node node) => $"node '{node.Name}' ({node.QualifiedOpType})";

    private static PassFailedException Fail(Node node, string what) => new($"{Describe(node)}: {what}");
}
