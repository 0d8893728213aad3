using System.Globalization;
using OnnxTrtForge.Core.Evaluation;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Ops;

namespace OnnxTrtForge.Core.Passes.Inference;

/// <summary>
/// Type and shape inference for one node of the ops exporters emit, over symbolic dimensions: a dim is
/// a <see cref="DimExpr"/> (a size, a symbol, or an expression over symbols) or null (unknown); a shape
/// is a dim array, or null when even the rank is unknown. The constant values of inputs (shape tensors,
/// axes) come from <c>constantOf</c>, partly known int64 shape values from <c>valueOf</c>. Returns one
/// entry per output, null where nothing is known. Shapes that the node's own computation cannot
/// reconcile (broadcasts that do not match, Concat ranks or dims that differ, a Reshape target that
/// cannot hold its input) throw <see cref="ForgeInputException"/>, never "unknown".
/// </summary>
public static class ShapeInference
{
    /// <summary>The former entry point over concrete dims (partly known values as nullable sizes).</summary>
    public static TypeInfo?[] Infer(Node node, Func<Value, HostTensor?> constantOf, long opset, Func<Value, long?[]?>? partialOf = null) =>
        Infer(node, constantOf, opset, partialOf is null ? null : v => partialOf(v)?.Select(e => e is { } x ? DimExpr.Const(x) : null).ToArray());

    /// <param name="valueOf">Optional partly known int64 values (shape tensors of dynamic shapes), element by element.</param>
    public static TypeInfo?[] Infer(Node node, Func<Value, HostTensor?> constantOf, long opset, Func<Value, DimExpr?[]?>? valueOf)
    {
        var result = new TypeInfo?[node.Outputs.Count];
        if (!node.IsOnnxDomain || result.Length == 0)
        {
            return result;
        }

        try
        {
            // the op's shape function comes from the op-schema table; ops without one infer nothing
            if (OpSchemas.Default.Find(node, opset)?.Shape is { } shape)
            {
                var inferred = shape(new ShapeContext(node, opset, constantOf, valueOf));
                Array.Copy(inferred, result, Math.Min(inferred.Length, result.Length));
            }
        }
        catch (ArgumentException)
        {
        }
        catch (IndexOutOfRangeException)
        {
        }
        catch (OverflowException)
        {
        }

        return result;
    }

    /// <summary>The shape of a value as dims with unknowns; null when its rank is unknown.</summary>
    public static long?[]? Shape(Value? value) => value?.Type?.Shape?.Select(d => d.Value).ToArray();

    /// <summary>The shape of a value as symbolic dims (null entries unknown); null when its rank is unknown.</summary>
    public static DimExpr?[]? SymShape(Value? value) => value?.Type is { Kind: TypeKind.Tensor, Shape: { } shape } ? shape.Select(d => d.AsExpr()).ToArray() : null;

    /// <summary>
    /// <see cref="SymShape"/> for a rewrite: null also when the dims are only what the file declared and inference has
    /// not computed them (<see cref="Value.ShapeUnconfirmed"/>). Inference may read a declaration; a rewrite acts on known shapes only.
    /// </summary>
    public static DimExpr?[]? KnownSymShape(Value? value) => value is { ShapeUnconfirmed: true } ? null : SymShape(value);

    /// <summary>Text of a symbolic shape for messages: [batch,4,height,width], ? for unknown dims.</summary>
    public static string Format(IEnumerable<DimExpr?>? shape) => shape is null ? "[?]" : "[" + string.Join(",", shape.Select(d => d?.Text ?? "?")) + "]";

    /// <summary>
    /// A node whose inputs' shapes its computation cannot reconcile: the model is wrong, not forge (exit 2,
    /// naming the node and the shapes).
    /// </summary>
    public static ForgeInputException Conflict(Node node, string reason, IEnumerable<DimExpr?[]?> shapes) =>
        new($"shape conflict at node '{node.Name}' ({node.OpType}): {reason}: {string.Join(" vs ", shapes.Select(Format))}");

    /// <summary>Length of the Shape op's output for an input of <paramref name="rank"/> (start/end from opset 15).</summary>
    internal static long ShapeLength(int rank, Node node, long opset)
    {
        var start = opset >= 15 ? node.GetInt("start", 0) : 0;
        var end = opset >= 15 ? node.GetInt("end", rank) : rank;
        start = Math.Clamp(start < 0 ? start + rank : start, 0, rank);
        end = Math.Clamp(end < 0 ? end + rank : end, 0, rank);
        return Math.Max(0, end - start);
    }

    /// <summary>
    /// Records an inferred type on a value when it adds knowledge (see <see cref="Reconcile"/>). True when changed.
    /// </summary>
    public static bool Merge(Value value, TypeInfo? inferred) => Reconcile(value, inferred) != Reconciliation.Unchanged;

    /// <summary>
    /// Reconciles what inference computed with what the value declares. Inference wins wherever it knows a
    /// dim; a declared dim survives only where inference knows nothing. A declaration that contradicts the
    /// computation (another rank, another size) is dropped and reported as such. Graph inputs are never changed.
    /// </summary>
    public static Reconciliation Reconcile(Value value, TypeInfo? inferred)
    {
        if (inferred is null || inferred.ElementType == DataType.Undefined || value.IsGraphInput)
        {
            return Reconciliation.Unchanged;
        }

        var current = value.Type;
        if (current is null || current.ElementType == DataType.Undefined)
        {
            value.Type = inferred;
            return Reconciliation.Refined;
        }

        if (current.Kind != TypeKind.Tensor || inferred.Shape is null || current.ElementType != inferred.ElementType)
        {
            return Reconciliation.Unchanged;
        }

        if (current.Shape is null)
        {
            value.Type = current with { Shape = inferred.Shape };
            value.ShapeUnconfirmed = false;
            return Reconciliation.Refined;
        }

        if (current.Shape.Count != inferred.Shape.Count)
        {
            value.Type = current with { Shape = inferred.Shape, DimDenotations = null };
            value.ShapeUnconfirmed = false;
            return Reconciliation.ConflictDropped;
        }

        var isOutput = value.Producer?.Graph is { } owner && owner.Outputs.Contains(value);
        var conflict = false;
        var changed = false;
        var unverified = false;
        var dims = new Dim[current.Shape.Count];
        for (var i = 0; i < dims.Length; i++)
        {
            var declared = current.Shape[i];
            var computed = inferred.Shape[i];
            dims[i] = declared;
            if (computed.AsExpr() is not { } expr)
            {
                // a declared size inference cannot compute stays an annotation
                unverified |= declared.Value is not null;
                continue;
            }

            if (declared.AsExpr() == expr)
            {
                continue;
            }

            if (isOutput && declared.Param is not null && !expr.IsConstant)
            {
                // a graph output keeps its declared name: the computed expression equals it whenever the model runs
                continue;
            }

            conflict |= declared.Value is not null && expr.IsConstant;
            dims[i] = computed;
            changed = true;
        }

        value.ShapeUnconfirmed = unverified;
        if (!changed)
        {
            return Reconciliation.Unchanged;
        }

        value.Type = current with { Shape = dims };
        return conflict ? Reconciliation.ConflictDropped : Reconciliation.Refined;
    }

    /// <summary>Numpy broadcasting over symbolic dims; sizes other than 1 that differ are a conflict.</summary>
    public static DimExpr?[]? Broadcast(Node node, IReadOnlyList<DimExpr?[]?> shapes)
    {
        if (shapes.Count == 0 || shapes.Any(s => s is null))
        {
            return null;
        }

        var rank = shapes.Max(s => s!.Length);
        var result = new DimExpr?[rank];
        for (var i = 0; i < rank; i++)
        {
            DimExpr? size = DimExpr.Const(1);
            var sizeIsOne = true;
            var unknown = false;
            foreach (var s in shapes)
            {
                var k = i - (rank - s!.Length);
                if (k < 0)
                {
                    continue;
                }

                var d = s[k];
                if (d is null)
                {
                    unknown = true;
                }
                else if (d.Constant != 1)
                {
                    if (sizeIsOne)
                    {
                        size = d;
                        sizeIsOne = false;
                    }
                    else if (size != d)
                    {
                        if (size!.IsConstant && d.IsConstant)
                        {
                            throw Conflict(node, "shapes do not broadcast", shapes);
                        }

                        // two different symbolic sizes: one of them is 1 at run time, or they are equal; prefer a constant
                        size = size!.IsConstant ? size : d.IsConstant ? d : null;
                        unknown |= size is null;
                    }
                }
            }

            result[i] = unknown && (sizeIsOne || size is null || !size.IsConstant) ? null : size;
        }

        return result;
    }

    internal static DimExpr?[]? MatMul(Node node, DimExpr?[]? a, DimExpr?[]? b)
    {
        if (a is null || b is null || a.Length == 0 || b.Length == 0)
        {
            return null;
        }

        var aa = a.Length == 1 ? [DimExpr.Const(1), a[0]] : a;
        var bb = b.Length == 1 ? [b[0], DimExpr.Const(1)] : b;
        if (aa[^1] is { IsConstant: true } ka && bb[^2] is { IsConstant: true } kb && ka != kb)
        {
            throw Conflict(node, "inner dimensions differ", [a, b]);
        }

        var batch = Broadcast(node, [aa[..^2], bb[..^2]])!;
        var result = batch.ToList();
        if (a.Length > 1)
        {
            result.Add(aa[^2]);
        }

        if (b.Length > 1)
        {
            result.Add(bb[^1]);
        }

        return result.ToArray();
    }

    internal static DimExpr?[]? Gemm(Node node, DimExpr?[]? a, DimExpr?[]? b)
    {
        if ((a is not null && a.Length != 2) || (b is not null && b.Length != 2))
        {
            throw Conflict(node, "Gemm multiplies two matrices (rank 2)", [a, b]);
        }

        if (a is null || b is null)
        {
            return null;
        }

        var m = node.GetInt("transA", 0) != 0 ? a[1] : a[0];
        var n = node.GetInt("transB", 0) != 0 ? b[0] : b[1];
        var ka = node.GetInt("transA", 0) != 0 ? a[0] : a[1];
        var kb = node.GetInt("transB", 0) != 0 ? b[1] : b[0];
        if (ka?.Constant is { } k1 && kb?.Constant is { } k2 && k1 != k2)
        {
            throw Conflict(node, "inner dimensions differ (after transA/transB)", [a, b]);
        }

        return [m, n];
    }

    internal static DimExpr?[]? Conv(Node node, DimExpr?[]? x, DimExpr?[]? w)
    {
        if (x is not null && x.Length < 3)
        {
            throw Conflict(node, "the input needs a batch, a channel and at least one spatial dimension", [x, w]);
        }

        if (x is null || w is null)
        {
            return null;
        }

        if (w.Length != x.Length)
        {
            throw Conflict(node, "the weight's rank differs from the input's", [x, w]);
        }

        // X is [N, C, ...], W is [M, C/group, k...]: the channels ONNX Runtime checks when it runs the node
        var group = node.GetInt("group", 1);
        if (group <= 0)
        {
            throw new ForgeInputException($"node '{node.Name}' ({node.OpType}): group {group.ToString(CultureInfo.InvariantCulture)} must be positive");
        }

        if (x[1]?.Constant is { } channels && w[1]?.Constant is { } perGroup && channels != checked(perGroup * group))
        {
            throw Conflict(node, $"input channels differ from the weight's channels x group {group.ToString(CultureInfo.InvariantCulture)}", [x, w]);
        }

        if (w[0]?.Constant is { } filters && filters % group != 0)
        {
            throw Conflict(node, $"the weight's output channels do not divide into group {group.ToString(CultureInfo.InvariantCulture)}", [x, w]);
        }

        var bias = SymShape(node.Input(2));
        if (bias is not null && (bias.Length != 1 || (bias[0]?.Constant is { } b && w[0]?.Constant is { } m && b != m)))
        {
            throw Conflict(node, "the bias is not one value per output channel", [x, w, bias]);
        }

        var spatial = x.Length - 2;
        var declaredKernel = node.GetInts("kernel_shape")?.ToArray();
        if (declaredKernel is not null && (declaredKernel.Length != spatial
            || declaredKernel.Where((k, i) => w[i + 2]?.Constant is { } size && size != k).Any()))
        {
            throw Conflict(node, $"kernel_shape [{string.Join(",", declaredKernel)}] differs from the weight's spatial dimensions", [x, w]);
        }

        var kernel = declaredKernel ?? w[2..].Select(d => d?.Constant ?? -1).ToArray();
        var strides = node.GetInts("strides")?.ToArray() ?? Enumerable.Repeat(1L, spatial).ToArray();
        var dilations = node.GetInts("dilations")?.ToArray() ?? Enumerable.Repeat(1L, spatial).ToArray();
        var pads = node.GetInts("pads")?.ToArray() ?? new long[spatial * 2];
        var autoPad = node.GetString("auto_pad", "NOTSET");
        if (strides.Any(s => s <= 0) || dilations.Any(d => d <= 0))
        {
            throw new ForgeInputException($"node '{node.Name}' ({node.OpType}): strides [{string.Join(",", strides)}] and dilations [{string.Join(",", dilations)}] must hold {spatial} positive values");
        }

        if (kernel.Length != spatial || strides.Length != spatial || dilations.Length != spatial || pads.Length != spatial * 2)
        {
            return null;
        }

        var result = new DimExpr?[x.Length];
        result[0] = x[0];
        result[1] = w[0];
        for (var i = 0; i < spatial; i++)
        {
            var input = x[i + 2];
            if (input is null || kernel[i] < 0)
            {
                continue;
            }

            var effective = checked(((kernel[i] - 1) * dilations[i]) + 1);
            result[i + 2] = autoPad switch
            {
                "SAME_UPPER" or "SAME_LOWER" => DimExpr.FloorDivide(DimExpr.Add(input, DimExpr.Const(strides[i] - 1)), strides[i]),

                // floor((x - k) / s) + 1 = floor((x - k + s) / s): the numerator stays non-negative for sizes that fit the kernel
                "VALID" => DimExpr.FloorDivide(DimExpr.Add(input, DimExpr.Const(checked(strides[i] - effective))), strides[i]),
                _ => DimExpr.FloorDivide(DimExpr.Add(input, DimExpr.Const(checked(pads[i] + pads[i + spatial] - effective + strides[i]))), strides[i]),
            };
            if (result[i + 2]?.Constant is <= 0)
            {
                throw Conflict(node, $"the kernel (dilated: {effective.ToString(CultureInfo.InvariantCulture)}) is larger than the padded input in spatial dimension {i.ToString(CultureInfo.InvariantCulture)}", [x, w]);
            }
        }

        return result;
    }

    /// <summary>Parses an Einsum equation into operand subscripts and the output subscripts (explicit or implicit).</summary>
    public static (List<string> Inputs, string Output)? ParseEinsum(string equation)
    {
        var text = equation.Replace(" ", "", StringComparison.Ordinal);
        if (text.Contains("...", StringComparison.Ordinal))
        {
            return null;
        }

        var arrow = text.IndexOf("->", StringComparison.Ordinal);
        var left = arrow >= 0 ? text[..arrow] : text;
        var inputs = left.Split(',').ToList();
        string output;
        if (arrow >= 0)
        {
            output = text[(arrow + 2)..];
        }
        else
        {
            var counts = inputs.SelectMany(s => s).GroupBy(c => c).Where(g => g.Count() == 1).Select(g => g.Key).Order();
            output = new string(counts.ToArray());
        }

        return (inputs, output);
    }

    internal static DimExpr?[]? Einsum(Node node, IReadOnlyList<DimExpr?[]?> shapes)
    {
        if (ParseEinsum(node.GetString("equation", "")) is not { } parsed || parsed.Inputs.Count != shapes.Count)
        {
            return null;
        }

        // an operand whose rank is not its subscripts' count, or one letter given two sizes of which neither is 1
        // (ONNX Runtime broadcasts 1 along a letter, nothing else), is a model ONNX Runtime refuses: a conflict
        var sizes = new Dictionary<char, DimExpr?>();
        var unknownRank = false;
        for (var i = 0; i < shapes.Count; i++)
        {
            var s = shapes[i];
            if (s is null)
            {
                unknownRank = true;
                continue;
            }

            if (s.Length != parsed.Inputs[i].Length)
            {
                throw Conflict(node, $"operand {i} has rank {s.Length} but the equation '{node.GetString("equation", "")}' gives it {parsed.Inputs[i].Length} subscripts", shapes);
            }

            for (var k = 0; k < s.Length; k++)
            {
                var letter = parsed.Inputs[i][k];
                if (sizes.TryGetValue(letter, out var known) && known?.Constant is { } a && s[k]?.Constant is { } b && a != b && a != 1 && b != 1)
                {
                    throw Conflict(node, $"subscript '{letter}' is {a} in one operand and {b} in operand {i}", shapes);
                }

                if (!sizes.TryGetValue(letter, out known) || known is null || known.Constant == 1)
                {
                    sizes[letter] = s[k] ?? known;
                }
            }
        }

        return unknownRank ? null : parsed.Output.Select(c => sizes.GetValueOrDefault(c)).ToArray();
    }

    /// <summary>Product of dims; null when one is unknown or the product does not stay an expression.</summary>
    public static DimExpr? Product(IEnumerable<DimExpr?> dims)
    {
        DimExpr? product = DimExpr.Const(1);
        foreach (var d in dims)
        {
            product = DimExpr.Multiply(product, d);
        }

        return product;
    }

    internal static DimExpr?[]? Reshape(Node node, DimExpr?[]? input, DimExpr?[]? shape)
    {
        if (shape is null)
        {
            return null;
        }

        var allowZero = node.GetInt("allowzero", 0) != 0;
        var result = new DimExpr?[shape.Length];
        var inferred = -1;
        for (var i = 0; i < shape.Length; i++)
        {
            var d = shape[i];
            if (d?.Constant == -1)
            {
                if (inferred >= 0)
                {
                    throw Conflict(node, "more than one -1 in the target", [input, shape]);
                }

                inferred = i;
                continue;
            }

            if (d?.Constant < -1)
            {
                throw Conflict(node, "negative target dimension", [input, shape]);
            }

            result[i] = d?.Constant == 0 && !allowZero ? (input is not null && i < input.Length ? input[i] : null) : d;
            if (d?.Constant == 0 && !allowZero && input is not null && i >= input.Length)
            {
                throw Conflict(node, "target copies a dimension the input does not have", [input, shape]);
            }
        }

        var total = input is null ? null : Product(input);
        var known = Product(result.Where((_, i) => i != inferred));
        if (inferred >= 0)
        {
            result[inferred] = DimExpr.ExactDivide(total, known);
            if (total is { Constant: { } t } && known is { Constant: { } k } && (k == 0 ? t != 0 : t % k != 0))
            {
                throw Conflict(node, "target cannot hold the input's elements", [input, shape]);
            }
        }
        else if (total is { Constant: { } t } && known is { Constant: { } k } && t != k)
        {
            throw Conflict(node, "target cannot hold the input's elements", [input, shape]);
        }

        return result;
    }

    internal static DimExpr?[]? Resize(Node node, DimExpr?[]? input, long opset, Func<int, long[]?> constInts, HostTensor? scales)
    {
        if (input is null)
        {
            return null;
        }

        if (opset >= 11 && node.Input(3) is not null)
        {
            var sizes = constInts(3);
            return sizes?.Select(d => (DimExpr?)DimExpr.Const(d)).ToArray();
        }

        if (scales is null || scales.Count != input.Length)
        {
            return null;
        }

        return input.Select((d, i) =>
        {
            var scale = scales.RealAt(i);
            if (d is { Constant: { } v })
            {
                return DimExpr.Const((long)Math.Floor(v * scale));
            }

            // an integral scale multiplies exactly, whatever the size
            return scale >= 1 && scale == Math.Floor(scale) && scale < int.MaxValue ? DimExpr.Multiply(d, DimExpr.Const((long)scale)) : null;
        }).ToArray();
    }

    internal static DimExpr?[]? Gather(Node node, DimExpr?[]? data, DimExpr?[]? indices)
    {
        if (data is null || indices is null)
        {
            return null;
        }

        var axis = ShapeMath.Axis(node.GetInt("axis", 0), data.Length);
        return data.Take(axis).Concat(indices).Concat(data.Skip(axis + 1)).ToArray();
    }

    internal static DimExpr?[]? Concat(Node node, IReadOnlyList<DimExpr?[]?> shapes)
    {
        var present = shapes.Where(s => s is not null).ToList();
        if (present.Select(s => s!.Length).Distinct().Count() > 1)
        {
            throw Conflict(node, "inputs have different ranks", shapes);
        }

        if (shapes.Any(s => s is null))
        {
            return null;
        }

        var first = shapes[0]!;
        var axis = ShapeMath.Axis(node.GetInt("axis", 0), first.Length);
        var result = new DimExpr?[first.Length];
        for (var i = 0; i < first.Length; i++)
        {
            if (i == axis)
            {
                DimExpr? sum = DimExpr.Const(0);
                foreach (var s in shapes)
                {
                    sum = DimExpr.Add(sum, s![i]);
                }

                result[i] = sum;
                continue;
            }

            var dims = shapes.Select(s => s![i]).Where(d => d is not null).Distinct().ToList();
            if (dims.Count(d => d!.IsConstant) > 1)
            {
                throw Conflict(node, $"inputs differ in dimension {i.ToString(CultureInfo.InvariantCulture)}", shapes);
            }

            // every input must have this size, so the simplest form stands for all (a constant, else the shortest)
            result[i] = dims.FirstOrDefault(d => d!.IsConstant) ?? dims.OrderBy(d => d!.Text.Length).ThenBy(d => d!.Text, StringComparer.Ordinal).FirstOrDefault();
        }

        return result;
    }

    internal static DimExpr?[]? Slice(Node node, DimExpr?[]? input, long opset, Func<int, long[]?> constInts)
    {
        if (input is null || OpArguments.SliceBounds(node, opset, constInts) is not { } b)
        {
            return null;
        }

        var result = (DimExpr?[])input.Clone();
        for (var i = 0; i < b.Starts.Length; i++)
        {
            var axis = ShapeMath.Axis(b.Axes?[i] ?? i, input.Length);
            var step = b.Steps?[i] ?? 1;
            result[axis] = input[axis] switch
            {
                { Constant: { } dim } => DimExpr.Const(ShapeMath.SliceRange(dim, b.Starts[i], b.Ends[i], step).Count),

                // the whole axis, whatever its size
                { } dim when step == 1 && b.Starts[i] == 0 && b.Ends[i] >= int.MaxValue => dim,
                _ => null,
            };
        }

        return result;
    }

    internal static DimExpr?[]? Transpose(Node node, DimExpr?[]? input)
    {
        if (input is null)
        {
            return null;
        }

        var perm = node.GetInts("perm")?.ToArray() ?? Enumerable.Range(0, input.Length).Reverse().Select(i => (long)i).ToArray();
        if (perm.Length != input.Length || !perm.Order().SequenceEqual(Enumerable.Range(0, input.Length).Select(i => (long)i)))
        {
            throw Conflict(node, $"perm [{string.Join(",", perm)}] is not a permutation of the input's {input.Length.ToString(CultureInfo.InvariantCulture)} axes", [input]);
        }

        return perm.Select(p => input[p]).ToArray();
    }

    internal static DimExpr?[]? Unsqueeze(DimExpr?[]? input, OpArguments.Ints axes)
    {
        if (input is null || axes.Values is null)
        {
            return null;
        }

        var rank = input.Length + axes.Values.Length;
        var normalized = axes.Values.Select(a => ShapeMath.Axis(a, rank)).ToHashSet();
        var result = new DimExpr?[rank];
        var k = 0;
        for (var i = 0; i < rank; i++)
        {
            result[i] = normalized.Contains(i) ? DimExpr.Const(1) : input[k++];
        }

        return result;
    }

    internal static DimExpr?[]? Squeeze(DimExpr?[]? input, OpArguments.Ints axes)
    {
        if (input is null || !axes.Known)
        {
            return null;
        }

        if (!axes.Present)
        {
            return input.Any(d => d is null || !d.IsConstant) ? null : input.Where(d => d!.Constant != 1).ToArray();
        }

        var normalized = axes.Values!.Select(a => ShapeMath.Axis(a, input.Length)).ToHashSet();
        return input.Where((d, i) => !normalized.Contains(i)).ToArray();
    }

    internal static DimExpr?[]? Flatten(Node node, DimExpr?[]? input)
    {
        if (input is null)
        {
            return null;
        }

        var axis = (int)node.GetInt("axis", 1);
        axis = axis < 0 ? axis + input.Length : axis;
        return [Product(input.Take(axis)), Product(input.Skip(axis))];
    }

    internal static DataType ConstantOfShapeType(Node node) =>
        node.Attributes.TryGetValue("value", out var v) && v.T is { } t ? t.Type : DataType.Float;

    internal static DimExpr?[]? Range(Node node, Func<Value, HostTensor?> constantOf)
    {
        var values = node.Inputs.Select(v => v is null ? null : constantOf(v)).ToArray();
        if (values.Length != 3 || values.Any(v => v is null))
        {
            return [null];
        }

        var count = Math.Ceiling((values[1]!.RealAt(0) - values[0]!.RealAt(0)) / values[2]!.RealAt(0));
        return double.IsFinite(count) && count < long.MaxValue ? [DimExpr.Const((long)Math.Max(count, 0))] : [null];
    }

    internal static (DataType, DimExpr?[]?)? Constant(Node node)
    {
        if (node.Attributes.TryGetValue("value", out var value) && value.T is { } t)
        {
            return (t.Type, t.Dims.Select(d => (DimExpr?)DimExpr.Const(d)).ToArray());
        }

        if (node.Attributes.ContainsKey("value_float"))
        {
            return (DataType.Float, []);
        }

        if (node.Attributes.ContainsKey("value_int"))
        {
            return (DataType.Int64, []);
        }

        if (node.Attributes.TryGetValue("value_floats", out var fs))
        {
            return (DataType.Float, [DimExpr.Const(fs.Floats.Count)]);
        }

        return node.Attributes.TryGetValue("value_ints", out var ints) ? (DataType.Int64, [DimExpr.Const(ints.Ints.Count)]) : null;
    }

    internal static DimExpr?[]? Reduce(Node node, DimExpr?[]? input, OpArguments.Ints axes)
    {
        if (input is null || !axes.Known)
        {
            return null;
        }

        var list = axes.Values ?? [];
        if (list.Length == 0 && node.GetInt("noop_with_empty_axes", 0) != 0)
        {
            return input;
        }

        var reduced = list.Length == 0 ? Enumerable.Range(0, input.Length).ToHashSet() : list.Select(a => ShapeMath.Axis(a, input.Length)).ToHashSet();
        return node.GetInt("keepdims", 1) != 0
            ? input.Select((d, i) => reduced.Contains(i) ? DimExpr.Const(1) : d).ToArray()
            : input.Where((d, i) => !reduced.Contains(i)).ToArray();
    }

    internal static TypeInfo?[] Split(Node node, DimExpr?[]? input, DataType type, long opset, Func<int, long[]?> constInts)
    {
        var result = new TypeInfo?[node.Outputs.Count];
        if (input is null || type == DataType.Undefined)
        {
            return result;
        }

        var axis = ShapeMath.Axis(node.GetInt("axis", 0), input.Length);
        if (input[axis]?.Constant is not { } axisSize || InferenceShapes.SplitSizes(node, opset, axisSize, constInts) is not { } sizes || sizes.Length != result.Length)
        {
            return result;
        }

        for (var i = 0; i < result.Length; i++)
        {
            var dims = (DimExpr?[])input.Clone();
            dims[axis] = DimExpr.Const(sizes[i]);
            result[i] = TypeInfo.OfTensor(type, dims.Select(Dim.Of).ToArray());
        }

        return result;
    }
}

/// <summary>How a declared type and an inferred one were reconciled.</summary>
public enum Reconciliation
{
    Unchanged,

    /// <summary>Inference added knowledge the declaration did not have.</summary>
    Refined,

    /// <summary>The declaration contradicted the computation and was replaced.</summary>
    ConflictDropped,
}

