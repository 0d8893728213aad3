using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// One inconsistency the element-type walk found, at <paramref name="Node"/> when a node has it.
/// <paramref name="InComputation"/>: both sides are facts (graph inputs, initializers, attributes, or types an ai.onnx
/// type rule computes from those), so the model itself is ill-typed and ONNX Runtime refuses it at load; otherwise a
/// declaration is involved (value_info, a graph output's type, the declared output of an op forge does not model),
/// which passes may drop or repair.
/// </summary>
public sealed record TypeProblem(Node? Node, string Message, bool InComputation)
{
    public override string ToString() => Message;
}

/// <summary>What the element-type walk found: every value's element type, and the inconsistencies.</summary>
public sealed record TypeCheckResult(IReadOnlyDictionary<Value, DataType> ElementTypes, IReadOnlyList<TypeProblem> Found)
{
    /// <summary>Every problem's message, in walk order.</summary>
    public IReadOnlyList<string> Problems { get; } = [.. Found.Select(p => p.Message)];

    /// <summary>The problems in the computation itself (see <see cref="TypeProblem.InComputation"/>).</summary>
    public IEnumerable<TypeProblem> Conflicts => Found.Where(p => p.InComputation);

    public bool Ok => Found.Count == 0;

    public DataType TypeOf(Value value) => ElementTypes.GetValueOrDefault(value);
}

/// <summary>
/// Walks a model in node order and infers every value's element type from the op schemas
/// (<see cref="OpTypeSignatures"/>), reporting what a runtime would reject: inputs of one type variable
/// that disagree (Add of float and float16, Where's branches, Concat's parts...), slots of a fixed type fed another
/// (Resize's float32 scales, Where's bool condition, Reshape's int64 shape),
/// declared types (value_info, graph outputs, Cast outputs) that differ from what the producer computes,
/// and values read before they are produced. Unknown ops are trusted with their declared types.
/// The walk tells facts from declarations (<see cref="TypeProblem.InComputation"/>): a type variable binds to a
/// fact before a declaration, so a stale annotation upstream never makes a well-typed computation look wrong.
/// </summary>
public static class TypeConsistencyChecker
{
    public static TypeCheckResult Check(Model model)
    {
        var walk = new Walk { Opset = model.OnnxOpset };
        walk.Graph(model.Graph, new HashSet<Value>(), topLevel: true);
        foreach (var function in model.Functions)
        {
            walk.Opset = function.OpsetImports.TryGetValue("", out var v) ? v : function.OpsetImports.TryGetValue("ai.onnx", out var w) ? w : model.OnnxOpset;
            walk.Graph(function.Body, new HashSet<Value>(), topLevel: false);
        }

        return new TypeCheckResult(walk.Types, walk.Problems);
    }

    /// <summary>Throws <see cref="PassFailedException"/> naming the first problems when the model is inconsistent.</summary>
    public static void Ensure(Model model, string passName)
    {
        var result = Check(model);
        if (!result.Ok)
        {
            var shown = string.Join("; ", result.Problems.Take(3));
            var more = result.Problems.Count > 3 ? $" (and {result.Problems.Count - 3} more)" : "";
            throw new PassFailedException($"{passName} left the graph type-inconsistent: {shown}{more}");
        }
    }

    public static DataType Declared(Value value) =>
        value.Type is { Kind: TypeKind.Tensor } type ? type.ElementType : DataType.Undefined;

    /// <summary>The element type a Constant or ConstantOfShape produces from its attributes.</summary>
    public static DataType ValueAttributeType(Node node)
    {
        foreach (var attribute in node.Attributes.Values)
        {
            switch (attribute.Name)
            {
                case "value" when attribute.T is not null:
                    return attribute.T.Type;
                case "value_float" or "value_floats":
                    return DataType.Float;
                case "value_int" or "value_ints":
                    return DataType.Int64;
                case "value_string" or "value_strings":
                    return DataType.String;
            }
        }

        return node.Is("ConstantOfShape") ? DataType.Float : DataType.Undefined;
    }

    private sealed class Walk
    {
        public Dictionary<Value, DataType> Types { get; } = [];

        public List<TypeProblem> Problems { get; } = [];

        /// <summary>Values whose type is a fact: top-level graph inputs, initializers, and what ai.onnx type rules compute from facts.</summary>
        private readonly HashSet<Value> facts = [];

        /// <summary>The ai.onnx opset the signatures are read at.</summary>
        public long Opset { get; set; }

        /// <summary>Walks <paramref name="graph"/>; the inputs of the main graph are facts (what a runtime is fed), a subgraph's or function's are declarations.</summary>
        public void Graph(Graph graph, HashSet<Value> visible, bool topLevel)
        {
            var defined = new HashSet<Value>(visible);
            foreach (var input in graph.Inputs)
            {
                defined.Add(input);
                Types[input] = input.Initializer?.Type ?? Declared(input);
                if (topLevel || input.Initializer is not null)
                {
                    facts.Add(input);
                }
            }

            foreach (var initializer in graph.Initializers)
            {
                defined.Add(initializer);
                facts.Add(initializer);
                Types[initializer] = initializer.Initializer!.Type;
                if (Declared(initializer) is var d && d != DataType.Undefined && d != initializer.Initializer.Type)
                {
                    Problems.Add(new(null, $"initializer '{initializer.Name}' is declared {d.OnnxName()} but holds {initializer.Initializer.Type.OnnxName()}", false));
                }
            }

            foreach (var node in graph.Nodes)
            {
                foreach (var input in node.Inputs)
                {
                    if (input is not null && !defined.Contains(input))
                    {
                        Problems.Add(new(node, $"{node} reads '{input.Name}' before it is produced (nodes not in topological order)", false));
                    }
                }

                Node(node, defined);
                foreach (var output in node.Outputs)
                {
                    defined.Add(output);
                }
            }

            foreach (var output in graph.Outputs)
            {
                if (!defined.Contains(output))
                {
                    Problems.Add(new(null, $"graph '{graph.Name}' output '{output.Name}' is not produced", false));
                }
            }
        }

        private DataType TypeOf(Value? value) => value is null ? DataType.Undefined : Types.GetValueOrDefault(value);

        private bool IsFact(Value? value) => value is not null && facts.Contains(value);

        private void Node(Node node, HashSet<Value> defined)
        {
            var inferred = new DataType[node.Outputs.Count];
            var factual = new bool[node.Outputs.Count];
            foreach (var subgraph in node.Subgraphs)
            {
                Graph(subgraph, defined, topLevel: false);
            }

            if (OpTypeSignatures.IsControlFlow(node))
            {
                ControlFlow(node, inferred);
            }
            else if (OpTypeSignatures.Of(node, Opset) is { } signature)
            {
                Signature(node, signature, inferred, factual);
            }

            for (var i = 0; i < node.Outputs.Count; i++)
            {
                var output = node.Outputs[i];
                var declared = Declared(output);
                if (inferred[i] == DataType.Undefined)
                {
                    Types[output] = declared;
                    continue;
                }

                Types[output] = inferred[i];
                if (factual[i])
                {
                    facts.Add(output);
                }

                if (declared != DataType.Undefined && declared != inferred[i])
                {
                    Problems.Add(new(node, $"'{output.Name}' is declared {declared.OnnxName()} but {node} produces {inferred[i].OnnxName()}", false));
                }
            }
        }

        private void Signature(Node node, OpTypeSignature signature, DataType[] inferred, bool[] factual)
        {
            // T, T1, T2: each type variable binds to the first typed input of its slots whose type is a fact, else to the first typed one
            var bound = new DataType[3];
            var boundIndex = new int[3];
            var boundFact = new bool[3];
            for (var i = 0; i < node.Inputs.Count; i++)
            {
                var type = TypeOf(node.Inputs[i]);
                if (type != DataType.Undefined && Variable(signature.InputAt(i)) is { } k
                    && (bound[k] == DataType.Undefined || (!boundFact[k] && IsFact(node.Inputs[i]))))
                {
                    bound[k] = type;
                    boundIndex[k] = i;
                    boundFact[k] = IsFact(node.Inputs[i]);
                }
            }

            // a conflict between facts is the model's own (ai.onnx rules only: forge's contrib rules are not ONNX Runtime's word)
            var rules = node.IsOnnxDomain;
            for (var i = 0; i < node.Inputs.Count; i++)
            {
                var type = TypeOf(node.Inputs[i]);
                if (type == DataType.Undefined)
                {
                    continue;
                }

                var slot = signature.InputAt(i);
                var fixedType = slot switch { InputSlot.Float32 => DataType.Float, InputSlot.Bool => DataType.Bool, InputSlot.Int64 => DataType.Int64, _ => DataType.Undefined };
                if (fixedType != DataType.Undefined && type != fixedType)
                {
                    Problems.Add(new(node, $"{node}: input {i} '{node.Inputs[i]!.Name}' must be {fixedType.OnnxName()} but is {type.OnnxName()}", rules && IsFact(node.Inputs[i])));
                    continue;
                }

                if (Variable(slot) is { } k && i != boundIndex[k] && type != bound[k])
                {
                    var j = boundIndex[k];
                    Problems.Add(new(node, $"{node}: input {i} '{node.Inputs[i]!.Name}' is {type.OnnxName()} but input {j} '{node.Inputs[j]!.Name}' is {bound[k].OnnxName()}",
                        rules && boundFact[k] && IsFact(node.Inputs[i])));
                }
            }

            var t = bound[0];
            for (var i = 0; i < inferred.Length; i++)
            {
                (inferred[i], factual[i]) = signature.OutputAt(i) switch
                {
                    OutputSlot.T => (t, boundFact[0]),
                    OutputSlot.T1 => (bound[1], boundFact[1]),
                    OutputSlot.T2 => (bound[2], boundFact[2]),
                    OutputSlot.Int64 => (DataType.Int64, true),
                    OutputSlot.Bool => (DataType.Bool, true),
                    OutputSlot.CastTo => ((DataType)node.GetInt("to", 0), true),
                    OutputSlot.ValueAttribute => (ValueAttributeType(node), true),
                    OutputSlot.DTypeAttribute => node.Attributes.ContainsKey("dtype") ? ((DataType)node.GetInt("dtype", 1), true)
                        : t != DataType.Undefined ? (t, boundFact[0]) : (DataType.Float, true),
                    OutputSlot.StashType => ((DataType)node.GetInt("stash_type", 1), true),
                    _ => (DataType.Undefined, false),
                };
            }
        }

        private static int? Variable(InputSlot slot) => slot switch { InputSlot.T => 0, InputSlot.T1 => 1, InputSlot.T2 => 2, _ => null };

        private void ControlFlow(Node node, DataType[] inferred)
        {
            switch (node.OpType)
            {
                case "If":
                    var thenBranch = node.Attributes.TryGetValue("then_branch", out var a) ? a.G : null;
                    var elseBranch = node.Attributes.TryGetValue("else_branch", out var b) ? b.G : null;
                    for (var i = 0; i < inferred.Length; i++)
                    {
                        var thenType = thenBranch is not null && i < thenBranch.Outputs.Count ? TypeOf(thenBranch.Outputs[i]) : DataType.Undefined;
                        var elseType = elseBranch is not null && i < elseBranch.Outputs.Count ? TypeOf(elseBranch.Outputs[i]) : DataType.Undefined;
                        if (thenType != DataType.Undefined && elseType != DataType.Undefined && thenType != elseType)
                        {
                            Problems.Add(new(node, $"{node}: output {i} is {thenType.OnnxName()} in then_branch but {elseType.OnnxName()} in else_branch", false));
                        }

                        inferred[i] = thenType != DataType.Undefined ? thenType : elseType;
                    }

                    break;
                case "Loop" or "Scan":
                    var body = node.Attributes.TryGetValue("body", out var c) ? c.G : null;
                    if (node.OpType == "Loop" && body is not null)
                    {
                        // Loop(M, cond, v_initial...) → body(iteration, cond, v...) → (cond, v..., scan outputs...)
                        for (var i = 2; i < node.Inputs.Count && i < body.Inputs.Count; i++)
                        {
                            var outer = TypeOf(node.Inputs[i]);
                            var formal = TypeOf(body.Inputs[i]);
                            var next = i - 1 < body.Outputs.Count ? TypeOf(body.Outputs[i - 1]) : DataType.Undefined;
                            if (outer != DataType.Undefined && formal != DataType.Undefined && outer != formal)
                            {
                                Problems.Add(new(node, $"{node}: carried input {i} '{node.Inputs[i]!.Name}' is {outer.OnnxName()} but the body takes {formal.OnnxName()}", false));
                            }

                            if (next != DataType.Undefined && formal != DataType.Undefined && next != formal)
                            {
                                Problems.Add(new(node, $"{node}: the body returns carried value {i - 2} as {next.OnnxName()} but takes it as {formal.OnnxName()}", false));
                            }
                        }
                    }

                    var skip = node.OpType == "Loop" ? 1 : 0;
                    for (var i = 0; i < inferred.Length && body is not null; i++)
                    {
                        inferred[i] = i + skip < body.Outputs.Count ? TypeOf(body.Outputs[i + skip]) : DataType.Undefined;
                    }

                    break;
            }
        }
    }
}
