using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Ops;

namespace OnnxTrtForge.Core.Passes.Fp16;

/// <summary>What a float32 node is to the planner.</summary>
internal enum PrecisionRole
{
    /// <summary>Computes nothing in float32 (integer shape math, fp16 already, Constant, Shape...).</summary>
    None,

    /// <summary>Computes on its type variable T = float32: may run in either precision.</summary>
    Compute,

    /// <summary>Makes a float32 value from a non-float input or none (Cast to float, ConstantOfShape, ...): retargeted freely.</summary>
    Producer,

    /// <summary>Must stay float32: block-listed op or name, unknown op, control flow, or reads a constant out of range.</summary>
    Fixed32,
}

/// <summary>The planner's view of one node.</summary>
internal sealed record NodePlan(Node Node, PrecisionRole Role, OpTypeSignature? Signature)
{
    public bool Half { get; set; }

    /// <summary>Whether input <paramref name="index"/> must have the node's compute type (float32 when fixed).</summary>
    public bool Requires(int index, DataType originalType) => Role switch
    {
        // T1/T2 slots (BatchNormalization-15's scale/B, mean/var) take the node's precision too: one type for all is valid at every opset
        PrecisionRole.Compute => Signature!.IsTyped(index),
        PrecisionRole.Fixed32 => Signature is { HasTypeVariable: true } s ? s.IsTyped(index) : originalType == DataType.Float,
        _ => false,
    };

    /// <summary>Whether output <paramref name="index"/> takes the node's precision.</summary>
    public bool Follows(int index) => Role switch
    {
        PrecisionRole.Compute => Signature!.IsTypedOutput(index) || Signature.OutputAt(index) == OutputSlot.DTypeAttribute,
        PrecisionRole.Producer => index == 0,
        _ => false,
    };
}

/// <summary>
/// Chooses the precision of every float32 node as a minimum cut. Each float32 value is a hyperedge over
/// its producer and the consumers that need its type; it costs <see cref="CastCost"/> when cut (a Cast).
/// A node costs <see cref="HeavyCost"/> (Conv, MatMul, Gemm, Einsum) or <see cref="LightCost"/> when it
/// stays in float32; block-listed nodes and kept graph inputs/outputs are pinned to float32. So islands
/// grow over cheap elementwise neighbours when that saves Casts (a decomposed LayerNorm's Sub/Add/Div
/// join its ReduceMean/Pow/Sqrt), and ties go to fp16 (the smallest source side).
/// </summary>
internal sealed class PrecisionPlanner(Fp16Options options, TypeCheckResult types, long opset)
{
    public const long CastCost = 2;
    public const long LightCost = 1;
    public const long HeavyCost = 1000;

    public Dictionary<Node, NodePlan> Plans { get; } = [];

    /// <summary>Constants (initializers, Constant outputs) whose values overflow the target, with their overflow count.</summary>
    public Dictionary<Value, long> Overflowing { get; } = [];

    /// <summary>Values whose measured activations exceed the target's range (<see cref="Fp16Options.ActivationRanges"/>), with their magnitude.</summary>
    public Dictionary<Value, double> OutOfRangeActivations { get; } = [];

    /// <summary>Nodes kept float32 because they read or produce such a value.</summary>
    public List<Node> KeptForActivations { get; } = [];

    /// <summary>Overflow counts taken up front (in parallel); <see cref="Overflowing"/> keeps the order notes are reported in.</summary>
    private readonly Dictionary<Value, long> counted = [];

    public List<NodePlan> Plan(Model model)
    {
        var ordered = new List<NodePlan>();
        foreach (var node in model.Graph.AllNodes())
        {
            var plan = Classify(node);
            Plans[node] = plan;
            ordered.Add(plan);
        }

        CountOverflows(ordered);

        // constants the target cannot hold keep their readers in float32 (a fill's readers too)
        var forced = new List<Node>();
        foreach (var plan in ordered.Where(p => p.Role is PrecisionRole.Compute or PrecisionRole.Producer))
        {
            if (ReadsOverflowingConstant(plan))
            {
                forced.Add(plan.Node);
            }

            if (FillsOutOfRange(plan))
            {
                forced.Add(plan.Node);
                forced.AddRange(plan.Node.Outputs[0].Uses.Where(u => Plans[u.Node].Requires(u.Index, DataType.Float)).Select(u => u.Node));
            }
        }

        foreach (var node in forced)
        {
            Plans[node] = Plans[node] with { Role = PrecisionRole.Fixed32 };
        }

        KeepOutOfRangeActivations(ordered);

        Solve(model);
        return ordered.Select(p => Plans[p.Node]).ToList();
    }

    /// <summary>
    /// Nodes that produce (on an output that takes their precision) or read (on a typed slot) a value whose
    /// measured magnitude passes <see cref="Fp16Options.ActivationLimit"/> stay float32, so the value never
    /// exists in the target type: neither computed in it nor cast to it on the way to a reader.
    /// </summary>
    private void KeepOutOfRangeActivations(List<NodePlan> ordered)
    {
        if (options.ActivationRanges is not { Count: > 0 } ranges)
        {
            return;
        }

        var limit = options.ActivationLimit;
        bool Hot(Value? value)
        {
            if (value is null || TypeOf(value) != DataType.Float || !ranges.TryGetValue(value.Name, out var magnitude) || magnitude <= limit)
            {
                return false;
            }

            OutOfRangeActivations[value] = magnitude;
            return true;
        }

        foreach (var plan in ordered)
        {
            var current = Plans[plan.Node];
            if (current.Role is not (PrecisionRole.Compute or PrecisionRole.Producer))
            {
                continue;
            }

            var node = current.Node;
            var hot = false;
            for (var i = 0; i < node.Outputs.Count; i++)
            {
                hot |= current.Follows(i) && Hot(node.Outputs[i]);
            }

            for (var i = 0; i < node.Inputs.Count; i++)
            {
                hot |= current.Requires(i, DataType.Float) && Hot(node.Inputs[i]);
            }

            if (hot)
            {
                Plans[node] = current with { Role = PrecisionRole.Fixed32 };
                KeptForActivations.Add(node);
            }
        }
    }

    /// <summary>A heavy compute op (Conv, MatMul...) by the op-schema table's fp16 behaviour.</summary>
    public static bool IsHeavy(Node node) => node.IsOnnxDomain && OpSchemas.Default.Find(node, 0)?.Half.Heavy == true;

    public static bool IsConstant(Value value) =>
        value.Producer is { } p ? p.Is("Constant") : value.IsInitializer && !value.IsGraphInput;

    public DataType TypeOf(Value? value) => value is null ? DataType.Undefined : types.TypeOf(value);

    private NodePlan Classify(Node node)
    {
        var floatIo = node.Inputs.Any(v => TypeOf(v) == DataType.Float) || node.Outputs.Any(v => TypeOf(v) == DataType.Float);
        if (node.Is("Constant"))
        {
            return new NodePlan(node, PrecisionRole.None, null);
        }

        var schema = OpSchemas.Default.Find(node, opset);
        if (schema?.Types is not { } signature || OpTypeSignatures.IsControlFlow(node))
        {
            return new NodePlan(node, floatIo ? PrecisionRole.Fixed32 : PrecisionRole.None, null);
        }

        // block lists, and ai.onnx ops whose schema at this opset has no fp16 (bf16) in its type variable:
        // ONNX Runtime refuses a graph whose types the schema rejects
        var blocked = (node.IsOnnxDomain && options.OpBlockList.Contains(node.OpType)) || options.NodeBlockList.Contains(node.Name)
            || (node.IsOnnxDomain && !schema.Half.Admits(options.TargetType, opset));
        PrecisionRole role;
        if (signature.HasTypeVariable)
        {
            role = TypeVariable(node, signature) == DataType.Float ? PrecisionRole.Compute
                : signature.Outputs.Contains(OutputSlot.DTypeAttribute) && TypeOf(node.Outputs[0]) == DataType.Float ? PrecisionRole.Producer
                : PrecisionRole.None;
        }
        else
        {
            role = node.Outputs.Count > 0 && TypeOf(node.Outputs[0]) == DataType.Float ? PrecisionRole.Producer : PrecisionRole.None;
        }

        // a T input of unknown type (an untyped custom op's output) might be float32 too: never retype beside it
        var untyped = role == PrecisionRole.Compute
            && node.Inputs.Where((v, i) => v is not null && signature.InputAt(i) == InputSlot.T).Any(v => TypeOf(v) == DataType.Undefined);
        return new NodePlan(node, (blocked || untyped) && role != PrecisionRole.None ? PrecisionRole.Fixed32 : role, signature);
    }

    private DataType TypeVariable(Node node, OpTypeSignature signature)
    {
        for (var i = 0; i < node.Inputs.Count; i++)
        {
            if (signature.InputAt(i) == InputSlot.T && TypeOf(node.Inputs[i]) is var t && t != DataType.Undefined)
            {
                return t;
            }
        }

        for (var i = 0; i < node.Outputs.Count; i++)
        {
            if (signature.OutputAt(i) == OutputSlot.T && TypeOf(node.Outputs[i]) is var t && t != DataType.Undefined)
            {
                return t;
            }
        }

        return DataType.Undefined;
    }

    /// <summary>
    /// Counts the overflows of every float32 constant a computing node reads, on every core: each is a
    /// streamed read of its weights (gigabytes at full size), and the counts do not depend on the order.
    /// </summary>
    private void CountOverflows(List<NodePlan> plans)
    {
        var constants = new List<(Value Value, Tensor Tensor)>();
        var seen = new HashSet<Value>();
        foreach (var plan in plans.Where(p => p.Role is PrecisionRole.Compute or PrecisionRole.Producer))
        {
            for (var i = 0; i < plan.Node.Inputs.Count; i++)
            {
                var input = plan.Node.Inputs[i];
                if (input is not null && TypeOf(input) == DataType.Float && IsConstant(input) && FollowsNode(plan, i) && seen.Add(input))
                {
                    constants.Add((input, ConstantTensor(input) ?? Tensor.FromFloats([0], [])));
                }
            }
        }

        var counts = new long[constants.Count];
        var target = options.TargetType;
        Parallel.For(0, constants.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i => counts[i] = HalfConversion.CountOverflows(constants[i].Tensor, target));
        for (var i = 0; i < constants.Count; i++)
        {
            counted[constants[i].Value] = counts[i];
        }
    }

    private bool ReadsOverflowingConstant(NodePlan plan)
    {
        var overflow = false;
        for (var i = 0; i < plan.Node.Inputs.Count; i++)
        {
            var input = plan.Node.Inputs[i];
            if (input is null || TypeOf(input) != DataType.Float || !IsConstant(input) || !FollowsNode(plan, i))
            {
                continue;
            }

            if (!Overflowing.TryGetValue(input, out var count))
            {
                count = counted.TryGetValue(input, out var known) ? known
                    : ConstantTensor(input) is { } tensor ? HalfConversion.CountOverflows(tensor, options.TargetType) : 0;
                Overflowing[input] = count;
            }

            overflow |= count > 0;
        }

        return overflow && !options.ClampOutOfRange;
    }

    /// <summary>A ConstantOfShape whose fill value the target cannot hold (a -3.4e38 attention mask) stays float32 unless clamping.</summary>
    private bool FillsOutOfRange(NodePlan plan)
    {
        if (!plan.Node.Is("ConstantOfShape") || !plan.Node.Attributes.TryGetValue("value", out var a) || a.T is not { Type: DataType.Float } fill)
        {
            return false;
        }

        var count = HalfConversion.CountOverflows(fill, options.TargetType);
        if (count > 0)
        {
            Overflowing[plan.Node.Outputs[0]] = count;
        }

        return count > 0 && !options.ClampOutOfRange;
    }

    /// <summary>A float constant at this slot takes the node's precision (T slots, and the free slots such as Pow's exponent).</summary>
    public static bool FollowsNode(NodePlan plan, int index) =>
        plan.Role is PrecisionRole.Compute or PrecisionRole.Fixed32 && plan.Signature is { HasTypeVariable: true } s
        && (s.IsTyped(index) || s.InputAt(index) == InputSlot.Any);

    /// <summary>The float32 payload of a constant (initializer or Constant node), or null when it has none.</summary>
    public static Tensor? ConstantTensor(Value value)
    {
        if (value.Initializer is { } tensor)
        {
            return tensor;
        }

        var node = value.Producer!;
        foreach (var attribute in node.Attributes.Values)
        {
            switch (attribute.Name)
            {
                case "value" when attribute.T is not null:
                    return attribute.T;
                case "value_float":
                    return Tensor.FromFloats([], [attribute.F]);
                case "value_floats":
                    return Tensor.FromFloats([attribute.Floats.Count], attribute.Floats.ToArray());
            }
        }

        return null;
    }

    private void Solve(Model model)
    {
        var cut = new MinCut();
        var vertex = new Dictionary<Node, int>();
        foreach (var plan in Plans.Values)
        {
            if (plan.Role == PrecisionRole.None)
            {
                continue;
            }

            var v = cut.AddVertex();
            vertex[plan.Node] = v;
            if (plan.Role == PrecisionRole.Fixed32)
            {
                cut.AddEdge(cut.Source, v, MinCut.Infinite);
            }
            else if (plan.Role == PrecisionRole.Compute)
            {
                cut.AddEdge(v, cut.Sink, IsHeavy(plan.Node) ? HeavyCost : LightCost);
            }
        }

        var io = options.KeepIoTypes ? cut.Source : cut.Sink;
        var outputOwners = new Dictionary<Value, List<Graph>>();
        CollectOutputs(model.Graph, outputOwners);
        foreach (var value in FloatValues(model.Graph))
        {
            var members = new List<int>();
            void Member(int m)
            {
                if (!members.Contains(m))
                {
                    members.Add(m);
                }
            }

            if (value.Producer is { } producer)
            {
                var plan = Plans[producer];
                Member(plan.Follows(value.OutputIndex) ? vertex[producer] : cut.Source);
            }
            else
            {
                Member(ReferenceEquals(value.OwnerGraph, model.Graph) ? io : cut.Source);
            }

            foreach (var use in value.Uses)
            {
                var plan = Plans[use.Node];
                if (plan.Requires(use.Index, DataType.Float))
                {
                    Member(vertex[use.Node]);
                }
                else if (plan.Signature?.InputAt(use.Index) == InputSlot.Float32)
                {
                    Member(cut.Source);
                }
            }

            foreach (var graph in outputOwners.GetValueOrDefault(value) ?? [])
            {
                Member(ReferenceEquals(graph, model.Graph) ? io : cut.Source);
            }

            if (members.Count < 2)
            {
                continue;
            }

            var enter = cut.AddVertex();
            var leave = cut.AddVertex();
            cut.AddEdge(enter, leave, CastCost);
            foreach (var m in members)
            {
                cut.AddEdge(m, enter, MinCut.Infinite);
                cut.AddEdge(leave, m, MinCut.Infinite);
            }
        }

        var (_, sourceSide) = cut.Solve();
        foreach (var (node, v) in vertex)
        {
            Plans[node].Half = !sourceSide[v];
        }
    }

    /// <summary>Non-constant float32 values of the graph and its subgraphs, in a stable order.</summary>
    private IEnumerable<Value> FloatValues(Graph graph)
    {
        foreach (var input in graph.Inputs)
        {
            if (TypeOf(input) == DataType.Float)
            {
                yield return input;
            }
        }

        foreach (var node in graph.Nodes)
        {
            foreach (var output in node.Outputs)
            {
                if (TypeOf(output) == DataType.Float && !node.Is("Constant"))
                {
                    yield return output;
                }
            }

            foreach (var subgraph in node.Subgraphs)
            {
                foreach (var inner in FloatValues(subgraph))
                {
                    yield return inner;
                }
            }
        }
    }

    /// <summary>For every value listed as a graph output (main or nested), the graphs that list it.</summary>
    private static void CollectOutputs(Graph graph, Dictionary<Value, List<Graph>> owners)
    {
        foreach (var output in graph.Outputs)
        {
            if (!owners.TryGetValue(output, out var list))
            {
                owners[output] = list = [];
            }

            list.Add(graph);
        }

        foreach (var node in graph.Nodes)
        {
            foreach (var subgraph in node.Subgraphs)
            {
                CollectOutputs(subgraph, owners);
            }
        }
    }
}
