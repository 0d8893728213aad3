using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes.Fp16;
using IrAttribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// <c>to-fp16</c>: mixed-precision conversion for strongly typed builds. Float32 computation moves to
/// fp16 (or bf16) except the float32 islands (block-listed ops and node names, unknown ops, control flow,
/// consumers of constants beyond the target's range), whose borders the <see cref="PrecisionPlanner"/>
/// places where the fewest Casts are needed. Casts are inserted once per (value, type), never on a Cast's
/// output (the Cast's source is cast instead), so the pass emits no back-to-back Cast pair. Float
/// constants are converted where their consumers compute in the target type (copied when float32
/// consumers remain); weights that still live in their file are converted lazily, piece by piece as the
/// writer streams them, and planning reads them only in pieces to count overflows. The result is checked with <see cref="TypeConsistencyChecker"/>; an inconsistent
/// graph is a <see cref="PassFailedException"/>, never an output.
/// </summary>
public sealed class ToFp16Pass(Fp16Options? options = null) : IGraphPass
{
    public Fp16Options Options { get; } = options ?? new Fp16Options();

    public string Name => "to-fp16";

    public PassResult Run(Model model)
    {
        var target = Options.TargetType;
        if (target == DataType.BFloat16 && model.OnnxOpset < 13)
        {
            throw new PassFailedException($"to-fp16: bf16 needs opset 13 or later; the model imports opset {model.OnnxOpset}");
        }

        var before = TypeConsistencyChecker.Check(model);
        if (!before.Ok)
        {
            throw new PassFailedException($"to-fp16: the graph it was given is type-inconsistent before any conversion: {before.Problems[0]}");
        }

        if (ComputesInHalf(model, before, target) is { } sample)
        {
            // an fp16 export (autocast) or an earlier run of this pass: its float32 islands are deliberate, keep them
            return new PassResult(false) { Notes = [$"already computes in {target.OnnxName()} ({sample}); left as it is"] };
        }

        var planner = new PrecisionPlanner(Options, before, model.OnnxOpset);
        var plans = planner.Plan(model);
        var rewrite = new Rewrite(model, Options, planner, before);
        var modified = rewrite.Apply(plans);
        if (!modified)
        {
            return PassResult.Unchanged;
        }

        // the Cast cleanup of forge optimize, composed: retargeted Casts that became no-ops and the
        // exporter's own Cast chains go; this pass itself never casts a Cast's output
        var cleanup = new CastCleanupPass().Run(model);
        TypeConsistencyChecker.Ensure(model, Name);
        GraphValidator.Validate(model);
        var weightsBefore = rewrite.WeightBytesBefore;
        var weightsAfter = model.Graph.Initializers.Sum(v => v.Initializer!.ByteLength);
        var notes = new List<string>
        {
            $"{plans.Count(p => p.Half && p.Role is PrecisionRole.Compute)} nodes compute in {target.OnnxName()}, " +
            $"{plans.Count(p => !p.Half && p.Role is PrecisionRole.Compute or PrecisionRole.Fixed32)} stay float32; {rewrite.CastsInserted} Casts inserted",
        };
        if (planner.KeptForActivations.Count > 0)
        {
            var (value, magnitude) = planner.OutOfRangeActivations.MaxBy(a => a.Value);
            notes.Add($"{planner.KeptForActivations.Count} nodes kept float32: {planner.OutOfRangeActivations.Count} values measured beyond " +
                $"{Options.ActivationLimit:G5} (the {target.OnnxName()} range with headroom {Options.ActivationHeadroom:G3}), largest '{value.Name}' {magnitude:G4}");
        }

        notes.AddRange(rewrite.Notes);
        return new PassResult(true)
        {
            Counters = new Dictionary<string, long>
            {
                ["nodes-half"] = plans.Count(p => p.Half && p.Role is PrecisionRole.Compute),
                ["nodes-float32"] = plans.Count(p => !p.Half && p.Role is PrecisionRole.Compute or PrecisionRole.Fixed32),
                ["casts-inserted"] = rewrite.CastsInserted,
                ["casts-removed-by-cleanup"] = cleanup.Counters.Values.Sum(),
                ["constants-converted"] = rewrite.ConstantsConverted,
                ["constants-kept-out-of-range"] = rewrite.OutOfRangeKept,
                ["nodes-kept-for-activation-range"] = planner.KeptForActivations.Count,
                ["weight-bytes-before"] = weightsBefore,
                ["weight-bytes-after"] = weightsAfter,
            },
            Notes = notes,
        };
    }

    /// <summary>
    /// A node showing that the model already computes in <paramref name="half"/>: a Conv/MatMul/Gemm/Einsum
    /// in it, or, in a model without such ops, any node in it (an fp16 input merely reshaped before a
    /// Cast to float does not make a float32 model "converted").
    /// </summary>
    private static Node? ComputesInHalf(Model model, TypeCheckResult types, DataType half)
    {
        Node? any = null;
        var hasHeavy = false;
        foreach (var node in model.Graph.AllNodes())
        {
            if (OpTypeSignatures.Of(node, model.OnnxOpset) is not { HasTypeVariable: true } signature)
            {
                continue;
            }

            var heavy = PrecisionPlanner.IsHeavy(node);
            hasHeavy |= heavy;
            for (var i = 0; i < node.Inputs.Count; i++)
            {
                if (signature.InputAt(i) == InputSlot.T && node.Inputs[i] is { } input && types.TypeOf(input) == half)
                {
                    if (heavy)
                    {
                        return node;
                    }

                    any ??= node;
                    break;
                }
            }
        }

        return hasHeavy ? null : any;
    }

    /// <summary>The edits of one run: types, Cast insertion (one per value and type), constant conversion.</summary>
    private sealed class Rewrite(Model model, Fp16Options options, PrecisionPlanner planner, TypeCheckResult original)
    {
        private readonly DataType target = options.TargetType;
        private readonly Dictionary<Value, DataType> current = [];
        private readonly Dictionary<(Value, DataType), Value> casts = [];
        private readonly Dictionary<Value, Value> halfConstants = [];

        public int CastsInserted { get; private set; }

        public int ConstantsConverted { get; private set; }

        public int OutOfRangeKept { get; private set; }

        public long WeightBytesBefore { get; } = model.Graph.Initializers.Sum(v => v.Initializer!.ByteLength);

        public List<string> Notes { get; } = [];

        private DataType Original(Value? value) => value is null ? DataType.Undefined : original.TypeOf(value);

        private DataType Current(Value value) => current.TryGetValue(value, out var t) ? t : Original(value);

        public bool Apply(IReadOnlyList<NodePlan> plans)
        {
            var modified = false;
            foreach (var plan in plans.Where(p => p.Half))
            {
                Retype(plan);
                modified = true;
            }

            if (!options.KeepIoTypes)
            {
                foreach (var input in model.Graph.Inputs.Where(i => Original(i) == DataType.Float && !i.IsInitializer))
                {
                    SetType(input, target);
                    modified = true;
                }
            }

            modified |= Constants(plans);
            foreach (var plan in plans)
            {
                Rewire(plan);
            }

            modified |= Outputs(model.Graph, options.KeepIoTypes ? DataType.Float : target);
            foreach (var node in model.Graph.AllNodes().ToList())
            {
                foreach (var subgraph in node.Subgraphs)
                {
                    Outputs(subgraph, DataType.Float);
                }
            }

            foreach (var (value, count) in planner.Overflowing.Where(o => o.Value > 0))
            {
                Notes.Add(options.ClampOutOfRange
                    ? $"constant '{value.Name}': {count} values beyond the {target.OnnxName()} range clamped"
                    : $"constant '{value.Name}': {count} values beyond the {target.OnnxName()} range; kept float32, and so are its consumers");
                OutOfRangeKept += options.ClampOutOfRange ? 0 : 1;
            }

            return modified || CastsInserted > 0;
        }

        private void SetType(Value value, DataType type)
        {
            current[value] = type;
            value.Type = value.Type is { Kind: TypeKind.Tensor } t ? t with { ElementType = type } : TypeInfo.OfTensor(type, (IReadOnlyList<Dim>?)null);
        }

        /// <summary>A node that now computes in the target type: its outputs and its type attributes.</summary>
        private void Retype(NodePlan plan)
        {
            var node = plan.Node;
            for (var i = 0; i < node.Outputs.Count; i++)
            {
                if (plan.Follows(i) && Original(node.Outputs[i]) == DataType.Float)
                {
                    SetType(node.Outputs[i], target);
                }
            }

            if (plan.Role != PrecisionRole.Producer && !(plan.Role == PrecisionRole.Compute && node.Attributes.ContainsKey("dtype")))
            {
                return;
            }

            if (node.Is("Cast"))
            {
                node.Attributes["to"] = IrAttribute.Int("to", (long)target);
            }
            else if (node.Is("ConstantOfShape"))
            {
                var fill = node.Attributes.TryGetValue("value", out var a) && a.T is { } t
                    ? HalfConversion.Convert(t, target, options.ClampOutOfRange, t.Name)
                    : new Tensor(target, [1], TensorData.FromBytes(new byte[2]));
                node.Attributes["value"] = IrAttribute.TensorValue("value", fill);
            }
            else if (node.GetInt("dtype", 0) == (long)DataType.Float)
            {
                node.Attributes["dtype"] = IrAttribute.Int("dtype", (long)target);
            }
        }

        /// <summary>Converts float constants read in the target type: in place when no float32 reader remains, else a copy.</summary>
        private bool Constants(IReadOnlyList<NodePlan> plans)
        {
            var needs = new Dictionary<Value, (bool Half, bool Float)>();
            var order = new List<Value>();
            foreach (var plan in plans)
            {
                var node = plan.Node;
                for (var i = 0; i < node.Inputs.Count; i++)
                {
                    var input = node.Inputs[i];
                    if (input is null || Original(input) != DataType.Float || !PrecisionPlanner.IsConstant(input))
                    {
                        continue;
                    }

                    if (!needs.TryGetValue(input, out var need))
                    {
                        order.Add(input);
                    }

                    if (PrecisionPlanner.FollowsNode(plan, i))
                    {
                        need = plan.Half ? need with { Half = true } : need with { Float = true };
                    }
                    else if (plan.Signature?.InputAt(i) == InputSlot.Float32 || plan.Requires(i, DataType.Float))
                    {
                        need = need with { Float = true };
                    }

                    needs[input] = need;
                }
            }

            foreach (var graph in AllGraphs(model.Graph))
            {
                foreach (var output in graph.Outputs.Where(o => needs.ContainsKey(o)))
                {
                    needs[output] = needs[output] with { Float = true };
                }
            }

            var changed = false;
            foreach (var constant in order)
            {
                var (half, keep) = needs[constant];
                if (!half)
                {
                    continue;
                }

                var tensor = PrecisionPlanner.ConstantTensor(constant)!;
                // weights still in their file stay there: converted piece by piece when the writer streams them
                var converted = tensor.Data is ManagedTensorData
                    ? HalfConversion.Convert(tensor, target, options.ClampOutOfRange, tensor.Name)
                    : HalfConversion.ConvertLazy(tensor, target, options.ClampOutOfRange, tensor.Name);
                ConstantsConverted++;
                changed = true;
                if (!keep)
                {
                    ReplaceConstant(constant, converted);
                    halfConstants[constant] = constant;
                    SetType(constant, target);
                }
                else
                {
                    var copy = CopyConstant(constant, converted);
                    current[copy] = target;
                    halfConstants[constant] = copy;
                }
            }

            return changed;
        }

        private static void ReplaceConstant(Value constant, Tensor converted)
        {
            if (constant.IsInitializer)
            {
                constant.OwnerGraph!.SetInitializer(constant, converted);
                return;
            }

            var node = constant.Producer!;
            var name = node.Attributes.Keys.First(k => k is "value" or "value_float" or "value_floats");
            node.Attributes.Remove(name);
            node.Attributes["value"] = IrAttribute.TensorValue("value", converted);
        }

        private Value CopyConstant(Value constant, Tensor converted)
        {
            if (constant.IsInitializer)
            {
                var graph = constant.OwnerGraph!;
                var copy = graph.AddInitializer(converted.WithName(""), graph.Names.Fresh(constant.Name + "_" + target.OnnxName()));
                return copy;
            }

            var node = constant.Producer!;
            var created = new Node("", "Constant", [], [node.Graph!.Names.Fresh(constant.Name + "_" + target.OnnxName())], [IrAttribute.TensorValue("value", converted)], node.Graph.Names.Fresh(node.Name + "_" + target.OnnxName()));
            created.Outputs[0].Type = constant.Type is { } t ? t with { ElementType = target } : null;
            InsertAfter(node.Graph, node, created);
            return created.Outputs[0];
        }

        private void Rewire(NodePlan plan)
        {
            var node = plan.Node;
            var need = plan.Half ? target : DataType.Float;
            for (var i = 0; i < node.Inputs.Count; i++)
            {
                var input = node.Inputs[i];
                if (input is null || Original(input) != DataType.Float)
                {
                    continue;
                }

                if (plan.Requires(i, DataType.Float) || (PrecisionPlanner.IsConstant(input) && PrecisionPlanner.FollowsNode(plan, i)))
                {
                    node.SetInput(i, Get(input, need));
                }
                else if (plan.Signature?.InputAt(i) == InputSlot.Float32)
                {
                    node.SetInput(i, Get(input, DataType.Float));
                }
            }
        }

        /// <summary>Makes a graph's float outputs the required type, keeping their names (the producer's value is renamed).</summary>
        private bool Outputs(Graph graph, DataType required)
        {
            var changed = false;
            for (var i = 0; i < graph.Outputs.Count; i++)
            {
                var output = graph.Outputs[i];
                if (Original(output) != DataType.Float || Current(output) == required)
                {
                    continue;
                }

                var replacement = Get(output, required);
                if (replacement.Producer is not { } p || !p.Is("Cast") || !ReferenceEquals(p.Inputs[0], output))
                {
                    // the version of the required type is another named value: an Identity carries the output's name
                    var identity = new Node("", "Identity", [replacement], [graph.Names.Fresh(output.Name)], null, graph.Names.Fresh("Identity_" + output.Name));
                    Place(replacement, identity, graph);
                    identity.Outputs[0].Type = replacement.Type;
                    replacement = identity.Outputs[0];
                }

                var name = output.Name;
                output.Name = graph.Names.Fresh(name + "_" + Current(output).OnnxName());
                replacement.Name = name;
                graph.Outputs[i] = replacement;
                changed = true;
            }

            return changed;
        }

        /// <summary>The version of <paramref name="value"/> with element type <paramref name="type"/>: itself, a converted constant, a Cast's source, or a (shared) Cast.</summary>
        private Value Get(Value value, DataType type)
        {
            if (Current(value) == type)
            {
                return value;
            }

            if (PrecisionPlanner.IsConstant(value))
            {
                return type == target && halfConstants.TryGetValue(value, out var half) ? half
                    : type == DataType.Float && !halfConstants.ContainsKey(value) ? value
                    : CastOf(value, type);
            }

            if (value.Producer is { } p && p.Is("Cast") && p.Inputs.Count > 0 && p.Inputs[0] is { } source)
            {
                var sourceType = Current(source);
                if (sourceType == type)
                {
                    return source;
                }

                return sourceType.IsFloatingPoint() && !PrecisionPlanner.IsConstant(source) ? Get(source, type) : CastOf(source, type);
            }

            return CastOf(value, type);
        }

        private Value CastOf(Value value, DataType type)
        {
            if (casts.TryGetValue((value, type), out var existing))
            {
                return existing;
            }

            var graph = value.Producer?.Graph ?? value.OwnerGraph!;
            var hint = value.Name + "_" + type.OnnxName();
            var cast = new Node("", "Cast", [value], [graph.Names.Fresh(hint)], [IrAttribute.Int("to", (long)type)], graph.Names.Fresh("Cast_" + hint));
            var shape = value.Type is { Kind: TypeKind.Tensor } t ? t.Shape : null;
            cast.Outputs[0].Type = TypeInfo.OfTensor(type, shape);
            Place(value, cast, graph);
            current[cast.Outputs[0]] = type;
            casts[(value, type)] = cast.Outputs[0];
            CastsInserted++;
            return cast.Outputs[0];
        }

        /// <summary>Inserts <paramref name="node"/> right after the producer of <paramref name="value"/> (at the start for inputs and initializers).</summary>
        private static void Place(Value value, Node node, Graph graph)
        {
            if (value.Producer is { } producer && ReferenceEquals(producer.Graph, graph))
            {
                InsertAfter(graph, producer, node);
            }
            else if (graph.Nodes.Count > 0)
            {
                graph.InsertBefore(graph.Nodes[0], node);
            }
            else
            {
                graph.Append(node);
            }
        }

        private static void InsertAfter(Graph graph, Node anchor, Node node)
        {
            var index = IndexOf(graph, anchor);
            if (index + 1 < graph.Nodes.Count)
            {
                graph.InsertBefore(graph.Nodes[index + 1], node);
            }
            else
            {
                graph.Append(node);
            }
        }

        private static int IndexOf(Graph graph, Node node)
        {
            var nodes = graph.Nodes;
            for (var i = 0; i < nodes.Count; i++)
            {
                if (ReferenceEquals(nodes[i], node))
                {
                    return i;
                }
            }

            throw new InvalidOperationException($"{node} is not in graph '{graph.Name}'");
        }

        private static IEnumerable<Graph> AllGraphs(Graph root)
        {
            yield return root;
            foreach (var node in root.AllNodes())
            {
                foreach (var subgraph in node.Subgraphs)
                {
                    yield return subgraph;
                }
            }
        }
    }
}
