using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes;

/// <summary>What the element-type walk found: every value's element type, and the inconsistencies.</summary>
public sealed record TypeCheckResult(IReadOnlyDictionary<Value, DataType> ElementTypes, IReadOnlyList<string> Problems)
{
    public bool Ok => Problems.Count == 0;

    public DataType TypeOf(Value value) => ElementTypes.GetValueOrDefault(value);
}

/// <summary>
/// Walks a model in node order and infers every value's element type from the op schemas
/// (<see cref="OpTypeSignatures"/>), reporting what a runtime would reject: inputs of one type variable
/// that disagree (Add of float and float16, Where's branches, Concat's parts...), non-float32 scales,
/// declared types (value_info, graph outputs, Cast outputs) that differ from what the producer computes,
/// and values read before they are produced. Unknown ops are trusted with their declared types.
/// </summary>
public static class TypeConsistencyChecker
{
    public static TypeCheckResult Check(Model model)
    {
        var walk = new Walk { Opset = model.OnnxOpset };
        walk.Graph(model.Graph, new HashSet<Value>());
        foreach (var function in model.Functions)
        {
            walk.Opset = function.OpsetImports.TryGetValue("", out var v) ? v : function.OpsetImports.TryGetValue("ai.onnx", out var w) ? w : model.OnnxOpset;
            walk.Graph(function.Body, new HashSet<Value>());
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

        public List<string> Problems { get; } = [];

        /// <summary>The ai.onnx opset the signatures are read at.</summary>
        public long Opset { get; set; }

        public void Graph(Graph graph, HashSet<Value> visible)
        {
            var defined = new HashSet<Value>(visible);
            foreach (var input in graph.Inputs)
            {
                defined.Add(input);
                Types[input] = input.Initializer?.Type ?? Declared(input);
            }

            foreach (var initializer in graph.Initializers)
            {
                defined.Add(initializer);
                Types[initializer] = initializer.Initializer!.Type;
                if (Declared(initializer) is var d && d != DataType.Undefined && d != initializer.Initializer.Type)
                {
                    Problems.Add($"initializer '{initializer.Name}' is declared {d.OnnxName()} but holds {initializer.Initializer.Type.OnnxName()}");
                }
            }

            foreach (var node in graph.Nodes)
            {
                foreach (var input in node.Inputs)
                {
                    if (input is not null && !defined.Contains(input))
                    {
                        Problems.Add($"{node} reads '{input.Name}' before it is produced (nodes not in topological order)");
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
                    Problems.Add($"graph '{graph.Name}' output '{output.Name}' is not produced");
                }
            }
        }

        private DataType TypeOf(Value? value) => value is null ? DataType.Undefined : Types.GetValueOrDefault(value);

        private void Node(Node node, HashSet<Value> defined)
        {
            var inferred = new DataType[node.Outputs.Count];
            foreach (var subgraph in node.Subgraphs)
            {
                Graph(subgraph, defined);
            }

            if (OpTypeSignatures.IsControlFlow(node))
            {
                ControlFlow(node, inferred);
            }
            else if (OpTypeSignatures.Of(node, Opset) is { } signature)
            {
                Signature(node, signature, inferred);
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
                if (declared != DataType.Undefined && declared != inferred[i])
                {
                    Problems.Add($"'{output.Name}' is declared {declared.OnnxName()} but {node} produces {inferred[i].OnnxName()}");
                }
            }
        }

        private void Signature(Node node, OpTypeSignature signature, DataType[] inferred)
        {
            // T, T1, T2: each type variable binds to the first typed input of its slots
            var bound = new DataType[3];
            var boundIndex = new int[3];
            for (var i = 0; i < node.Inputs.Count; i++)
            {
                var type = TypeOf(node.Inputs[i]);
                if (type == DataType.Undefined)
                {
                    continue;
                }

                var slot = signature.InputAt(i);
                if (slot == InputSlot.Float32 && type != DataType.Float)
                {
                    Problems.Add($"{node}: input {i} '{node.Inputs[i]!.Name}' must be float but is {type.OnnxName()}");
                    continue;
                }

                var variable = slot switch { InputSlot.T => 0, InputSlot.T1 => 1, InputSlot.T2 => 2, _ => -1 };
                if (variable < 0)
                {
                    continue;
                }

                if (bound[variable] == DataType.Undefined)
                {
                    bound[variable] = type;
                    boundIndex[variable] = i;
                }
                else if (type != bound[variable])
                {
                    var j = boundIndex[variable];
                    Problems.Add($"{node}: input {i} '{node.Inputs[i]!.Name}' is {type.OnnxName()} but input {j} '{node.Inputs[j]!.Name}' is {bound[variable].OnnxName()}");
                }
            }

            var t = bound[0];
            for (var i = 0; i < inferred.Length; i++)
            {
                inferred[i] = signature.OutputAt(i) switch
                {
                    OutputSlot.T => t,
                    OutputSlot.T1 => bound[1],
                    OutputSlot.T2 => bound[2],
                    OutputSlot.Int64 => DataType.Int64,
                    OutputSlot.Bool => DataType.Bool,
                    OutputSlot.CastTo => (DataType)node.GetInt("to", 0),
                    OutputSlot.ValueAttribute => ValueAttributeType(node),
                    OutputSlot.DTypeAttribute => node.Attributes.ContainsKey("dtype") ? (DataType)node.GetInt("dtype", 1) : t != DataType.Undefined ? t : DataType.Float,
                    OutputSlot.StashType => (DataType)node.GetInt("stash_type", 1),
                    _ => DataType.Undefined,
                };
            }
        }

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
                            Problems.Add($"{node}: output {i} is {thenType.OnnxName()} in then_branch but {elseType.OnnxName()} in else_branch");
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
                                Problems.Add($"{node}: carried input {i} '{node.Inputs[i]!.Name}' is {outer.OnnxName()} but the body takes {formal.OnnxName()}");
                            }

                            if (next != DataType.Undefined && formal != DataType.Undefined && next != formal)
                            {
                                Problems.Add($"{node}: the body returns carried value {i - 2} as {next.OnnxName()} but takes it as {formal.OnnxName()}");
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
