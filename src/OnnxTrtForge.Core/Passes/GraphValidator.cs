using OnnxTrtForge.Core.Evaluation;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Ops;
using OnnxTrtForge.Core.Passes.Inference;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// Structural checks on an optimized model (not a pass: it changes nothing): nodes in topological
/// order, every input defined before use (outer scopes visible in subgraphs), value names unique in
/// every scope (a graph and the graphs enclosing it), graph outputs defined, declared element types consistent with the type
/// rules of the op-schema table (<see cref="OpSchemas"/>) wherever it has one, and declared shapes consistent with shape inference (main graph). The first problem is a <see cref="PassFailedException"/> naming the node.
/// </summary>
public static class GraphValidator
{
    public static void Validate(Model model)
    {
        var names = new Dictionary<string, Value>(StringComparer.Ordinal);
        Check(model.Graph, new HashSet<Value>(), names, model.OnnxOpset);
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

    private static void Check(Graph graph, HashSet<Value> outer, Dictionary<string, Value> names, long opset)
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
                Check(sub, defined, new Dictionary<string, Value>(names, StringComparer.Ordinal), opset);
            }

            foreach (var output in node.Outputs)
            {
                if (!defined.Add(output))
                {
                    throw Fail(node, $"output '{output.Name}' is defined twice");
                }

                Declare(graph, node, output, names);
            }

            CheckTypes(node, opset);
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

    /// <summary>
    /// Declared element types against the op's type rule in the op-schema table: the inputs and outputs of one
    /// type variable agree, float32, bool and int64 slots hold those types, Cast's output is its <c>to</c>.
    /// </summary>
    private static void CheckTypes(Node node, long opset)
    {
        if (!node.IsOnnxDomain)
        {
            return;
        }

        var out0 = node.Outputs.Count > 0 ? TypeOf(node.Outputs[0]) : null;
        if (node.OpType == "Cast")
        {
            var to = (DataType)node.GetInt("to", 0);
            if (out0 is { } t && t != to)
            {
                throw Fail(node, $"Cast to {to.OnnxName()} but its output '{node.Outputs[0].Name}' is typed {t.OnnxName()}");
            }

            return;
        }

        if (OpTypeSignatures.IsControlFlow(node) || OpSchemas.Default.Find(node, opset)?.Types is not { } signature)
        {
            return;
        }

        var bound = new DataType?[3];
        for (var i = 0; i < node.Inputs.Count; i++)
        {
            if (node.Input(i) is not { } v || TypeOf(v) is not { } t)
            {
                continue;
            }

            var slot = signature.InputAt(i);
            DataType? fixedType = slot switch { InputSlot.Float32 => DataType.Float, InputSlot.Bool => DataType.Bool, InputSlot.Int64 => DataType.Int64, _ => null };
            if (fixedType is { } f && t != f)
            {
                throw Fail(node, $"input {i} '{v.Name}' is {t.OnnxName()}, expected {f.OnnxName()}");
            }

            if (Variable(slot) is { } k)
            {
                if (bound[k] is { } c && c != t)
                {
                    throw Fail(node, $"input {i} '{v.Name}' is {t.OnnxName()} but an earlier input is {c.OnnxName()}");
                }

                bound[k] = t;
            }
        }

        for (var i = 0; i < node.Outputs.Count; i++)
        {
            var slot = signature.OutputAt(i);
            var expected = slot switch
            {
                OutputSlot.T => bound[0],
                OutputSlot.T1 => bound[1],
                OutputSlot.T2 => bound[2],
                OutputSlot.Bool => DataType.Bool,
                OutputSlot.Int64 => DataType.Int64,
                _ => null,
            };
            if (expected is { } e && TypeOf(node.Outputs[i]) is { } ot && ot != e)
            {
                throw Fail(node, $"output '{node.Outputs[i].Name}' is {ot.OnnxName()}, expected {e.OnnxName()}");
            }
        }
    }

    private static int? Variable(InputSlot slot) => slot switch { InputSlot.T => 0, InputSlot.T1 => 1, InputSlot.T2 => 2, _ => null };

    private static DataType? TypeOf(Value value) =>
        value.Type is { Kind: TypeKind.Tensor, ElementType: not DataType.Undefined } t ? t.ElementType : null;

    private static string Describe(Node node) => $"node '{node.Name}' ({node.QualifiedOpType})";

    private static PassFailedException Fail(Node node, string what) => new($"{Describe(node)}: {what}");
}
