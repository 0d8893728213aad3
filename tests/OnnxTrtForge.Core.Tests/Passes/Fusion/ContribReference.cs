using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using OnnxTrtForge.Core.Passes.Fusion.OrtCuda;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.Core.Tests.Passes.Fusion;

/// <summary>
/// Our reading of the com.microsoft contrib-op contracts (ONNX Runtime's ContribOperators.md), in plain
/// C# on doubles, and a runner that evaluates a fused model with them: standard ops run in ONNX Runtime
/// (CPU), each contrib node (most of them CUDA-only) is computed here from its inputs. Comparing that with
/// ORT on the unfused model checks the fused node's inputs, layout, attributes and weights.
/// </summary>
internal static class ContribReference
{
    /// <summary>Runs a model that may hold contrib nodes: ORT for the standard prefix of each contrib node, the reference for the node.</summary>
    public static IReadOnlyList<Tensor> Run(Model model, IReadOnlyList<Tensor> inputs)
    {
        using var temp = Fixtures.Temp();
        var path = temp.File("hybrid.onnx");
        OnnxWriter.Save(model, path);
        for (var step = 0; ; step++)
        {
            using var current = OnnxReader.Load(path);
            current.Graph.SortTopologically();
            var contrib = current.Graph.Nodes.FirstOrDefault(n => n.Domain == OrtCudaFusions.Domain);
            if (contrib is null)
            {
                return OrtRunner.Run(path, inputs);
            }

            var operands = contrib.Inputs.Select(v => v is null ? null : v.Initializer).ToArray();
            var computed = contrib.Inputs.Where(v => v is not null && !v.IsInitializer).Distinct().ToList();
            if (computed.Count > 0)
            {
                var results = Prefix(path, contrib.Name, computed.Select(v => v!.Name).ToList(), inputs, temp.File($"prefix{step}.onnx"));
                for (var i = 0; i < contrib.Inputs.Count; i++)
                {
                    if (contrib.Inputs[i] is { IsInitializer: false } v)
                    {
                        operands[i] = results[computed.IndexOf(v)];
                    }
                }
            }

            var outputs = Evaluate(contrib, operands);
            for (var i = 0; i < contrib.Outputs.Count; i++)
            {
                var output = contrib.Outputs[i];
                if (output.Uses.Count == 0 && !current.Graph.Outputs.Contains(output))
                {
                    continue;
                }

                var constant = current.Graph.AddInitializer(OrtRunner.Convert(outputs[i], output.Type!.ElementType), current.Graph.Names.Fresh("reference_out"));
                output.ReplaceAllUsesWith(constant, current.Graph);
            }

            current.Graph.Remove(contrib);
            var next = temp.File($"hybrid{step}.onnx");
            OnnxWriter.Save(current, next);
            path = next;
        }
    }

    /// <summary>ORT on the nodes the given values depend on (the model cut before the contrib node).</summary>
    private static IReadOnlyList<Tensor> Prefix(string path, string contribName, IReadOnlyList<string> wanted, IReadOnlyList<Tensor> inputs, string prefixPath)
    {
        using var prefix = OnnxReader.Load(path);
        var graph = prefix.Graph;
        var targets = wanted.Select(name => graph.Nodes.SelectMany(n => n.Outputs).First(o => o.Name == name)).ToList();
        var needed = new HashSet<Node>();
        var stack = new Stack<Node>(targets.Select(t => t.Producer!));
        while (stack.TryPop(out var node))
        {
            if (needed.Add(node))
            {
                foreach (var p in node.Inputs.Select(i => i?.Producer).OfType<Node>())
                {
                    stack.Push(p);
                }
            }
        }

        Assert.DoesNotContain(needed, n => n.Domain == OrtCudaFusions.Domain && n.Name != contribName);
        graph.Outputs.Clear();
        graph.Outputs.AddRange(targets);
        graph.RemoveAll(graph.Nodes.Where(n => !needed.Contains(n)).ToHashSet());
        OnnxWriter.Save(prefix, prefixPath);
        return OrtRunner.Run(prefixPath, inputs);
    }

    /// <summary>The outputs of one contrib node from its operands (null for omitted optional inputs).</summary>
    public static IReadOnlyList<Tensor> Evaluate(Node node, IReadOnlyList<Tensor?> operands) => node.OpType switch
    {
        "MultiHeadAttention" => [MultiHeadAttention(operands, node.GetInt("num_heads", 0), node.Attributes.ContainsKey("scale") ? node.GetFloat("scale", 0) : null)],
        "GroupNorm" => [GroupNorm(operands[0]!, operands[1]!, operands[2]!, node.GetFloat("epsilon", 1e-5f), node.GetInt("groups", 0), node.GetInt("activation", 0) == 1, node.GetInt("channels_last", 1) == 1)],
        "SkipGroupNorm" => SkipGroupNorm(node, operands),
        "BiasSplitGelu" => [BiasSplitGelu(operands[0]!, operands[1]!)],
        "NhwcConv" => [NhwcConv(operands[0]!, operands[1]!, operands.Count > 2 ? operands[2] : null, node.GetInts("strides"), node.GetInts("pads"), node.GetInts("dilations"), node.GetInt("group", 1))],
        _ => throw new NotSupportedException($"no reference for {node.QualifiedOpType}"),
    };

    /// <summary>SkipGroupNorm: s = x + skip (+ bias), broadcast from [N,1,1,C]; outputs GroupNorm(s) and s.</summary>
    private static Tensor[] SkipGroupNorm(Node node, IReadOnlyList<Tensor?> operands)
    {
        var x = operands[0]!;
        var skip = operands[3]!;
        var bias = operands.Count > 4 ? operands[4] : null;
        var (n, hw, c) = (x.Dims[0], x.Dims[1] * x.Dims[2], x.Dims[3]);
        var xs = x.ToDoubleArray();
        var ss = skip.ToDoubleArray();
        var bs = bias?.ToDoubleArray();
        var broadcast = ss.Length != xs.Length;
        var sum = new float[xs.Length];
        for (long i = 0; i < xs.Length; i++)
        {
            var (b, ch) = (i / (hw * c), i % c);
            sum[i] = (float)(xs[i] + ss[broadcast ? (b * c) + ch : i] + (bs?[ch] ?? 0));
        }

        var s = Tensor.FromFloats(x.Dims, sum);
        return [GroupNorm(s, operands[1]!, operands[2]!, node.GetFloat("epsilon", 1e-5f), node.GetInt("groups", 0), node.GetInt("activation", 0) == 1, true), s];
    }

    /// <summary>BiasSplitGelu: x [N,S,D] + bias [D] split in halves a, g of the last axis; a · g · Φ(g) (exact gelu); [N,S,D/2].</summary>
    public static Tensor BiasSplitGelu(Tensor x, Tensor bias)
    {
        var d = x.Dims[2];
        var rows = x.Dims[0] * x.Dims[1];
        var xs = x.ToDoubleArray();
        var b = bias.ToDoubleArray();
        var output = new float[rows * d / 2];
        for (long r = 0; r < rows; r++)
        {
            for (long i = 0; i < d / 2; i++)
            {
                var a = xs[(r * d) + i] + b[i];
                var g = xs[(r * d) + (d / 2) + i] + b[(d / 2) + i];
                output[(r * d / 2) + i] = (float)(a * g * 0.5 * (1 + Erf(g / Math.Sqrt(2))));
            }
        }

        return Tensor.FromFloats([x.Dims[0], x.Dims[1], d / 2], output);
    }

    /// <summary>erf to about 1.2e-7 (Numerical Recipes' Chebyshev fit of erfc).</summary>
    private static double Erf(double x)
    {
        var z = Math.Abs(x);
        var t = 1 / (1 + (0.5 * z));
        double[] c = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277];
        var p = c[^1];
        for (var k = c.Length - 2; k >= 0; k--)
        {
            p = c[k] + (t * p);
        }

        var r = t * Math.Exp((-z * z) + p);
        return x >= 0 ? 1 - r : r - 1;
    }

    /// <summary>
    /// NhwcConv: x [N,H,W,C], weights [M,kH,kW,C] (Conv's [M,C,kH,kW] with channels last), bias [M];
    /// Conv's strides, pads (top, left, bottom, right) and dilations; output [N,H',W',M].
    /// </summary>
    public static Tensor NhwcConv(Tensor x, Tensor w, Tensor? bias, IReadOnlyList<long>? strides, IReadOnlyList<long>? pads, IReadOnlyList<long>? dilations, long group)
    {
        Assert.Equal(1, group);
        var (n, h, wd, c) = (x.Dims[0], x.Dims[1], x.Dims[2], x.Dims[3]);
        var (m, kh, kw) = (w.Dims[0], w.Dims[1], w.Dims[2]);
        Assert.Equal(c, w.Dims[3]);
        var (sh, sw) = strides is { Count: 2 } s ? (s[0], s[1]) : (1L, 1L);
        var (dh, dw) = dilations is { Count: 2 } d ? (d[0], d[1]) : (1L, 1L);
        var (pt, pl, pb, pr) = pads is { Count: 4 } p ? (p[0], p[1], p[2], p[3]) : (0L, 0L, 0L, 0L);
        var oh = ((h + pt + pb - (dh * (kh - 1)) - 1) / sh) + 1;
        var ow = ((wd + pl + pr - (dw * (kw - 1)) - 1) / sw) + 1;
        var xs = x.ToDoubleArray();
        var ws = w.ToDoubleArray();
        var bs = bias?.ToDoubleArray();
        var output = new float[n * oh * ow * m];
        for (long b = 0; b < n; b++)
        {
            for (long y = 0; y < oh; y++)
            {
                for (long xx = 0; xx < ow; xx++)
                {
                    for (long o = 0; o < m; o++)
                    {
                        var acc = bs?[o] ?? 0;
                        for (long i = 0; i < kh; i++)
                        {
                            var iy = (y * sh) - pt + (i * dh);
                            if (iy < 0 || iy >= h)
                            {
                                continue;
                            }

                            for (long j = 0; j < kw; j++)
                            {
                                var ix = (xx * sw) - pl + (j * dw);
                                if (ix < 0 || ix >= wd)
                                {
                                    continue;
                                }

                                var xo = ((((b * h) + iy) * wd) + ix) * c;
                                var wo = ((((o * kh) + i) * kw) + j) * c;
                                for (long k = 0; k < c; k++)
                                {
                                    acc += xs[xo + k] * ws[wo + k];
                                }
                            }
                        }

                        output[(((((b * oh) + y) * ow) + xx) * m) + o] = (float)acc;
                    }
                }
            }
        }

        return Tensor.FromFloats([n, oh, ow, m], output);
    }

    /// <summary>
    /// MultiHeadAttention without masks, bias or past: query [B,S,N·H] with key [B,L,N·H] and value
    /// [B,L,N·Hv]; or packed QKV query [B,S,N,3,H] alone; or query [B,S,N·H] with packed KV key [B,L,N,2,H].
    /// softmax(scale·QKᵀ)V per head, scale defaulting to 1/√H; output [B,S,N·Hv].
    /// </summary>
    public static Tensor MultiHeadAttention(IReadOnlyList<Tensor?> operands, long heads, float? scale)
    {
        var query = operands[0]!;
        var key = operands.Count > 1 ? operands[1] : null;
        var value = operands.Count > 2 ? operands[2] : null;
        double[] q, k, v;
        long b, s, l, h, hv;
        if (key is null)
        {
            Assert.Equal(5, query.Dims.Length);
            Assert.Equal(3, query.Dims[3]);
            (b, s, h) = (query.Dims[0], query.Dims[1], query.Dims[4]);
            (l, hv) = (s, h);
            var packed = query.ToDoubleArray();
            q = Unpack(packed, b, s, heads, 3, 0, h);
            k = Unpack(packed, b, s, heads, 3, 1, h);
            v = Unpack(packed, b, s, heads, 3, 2, h);
        }
        else if (value is null)
        {
            Assert.Equal(5, key.Dims.Length);
            Assert.Equal(2, key.Dims[3]);
            (b, s) = (query.Dims[0], query.Dims[1]);
            (l, h) = (key.Dims[1], key.Dims[4]);
            hv = h;
            q = query.ToDoubleArray();
            var packed = key.ToDoubleArray();
            k = Unpack(packed, b, l, heads, 2, 0, h);
            v = Unpack(packed, b, l, heads, 2, 1, h);
        }
        else
        {
            (b, s) = (query.Dims[0], query.Dims[1]);
            l = key.Dims[1];
            h = query.Dims[2] / heads;
            hv = value.Dims[2] / heads;
            (q, k, v) = (query.ToDoubleArray(), key.ToDoubleArray(), value.ToDoubleArray());
        }

        var alpha = scale ?? (1.0 / Math.Sqrt(h));
        var output = new double[b * s * heads * hv];
        var row = new double[l];
        for (long bi = 0; bi < b; bi++)
        {
            for (long n = 0; n < heads; n++)
            {
                for (long i = 0; i < s; i++)
                {
                    var max = double.NegativeInfinity;
                    for (long j = 0; j < l; j++)
                    {
                        double dot = 0;
                        for (long d = 0; d < h; d++)
                        {
                            dot += q[(((bi * s) + i) * heads * h) + (n * h) + d] * k[(((bi * l) + j) * heads * h) + (n * h) + d];
                        }

                        row[j] = dot * alpha;
                        max = Math.Max(max, row[j]);
                    }

                    double sum = 0;
                    for (long j = 0; j < l; j++)
                    {
                        row[j] = Math.Exp(row[j] - max);
                        sum += row[j];
                    }

                    for (long d = 0; d < hv; d++)
                    {
                        double acc = 0;
                        for (long j = 0; j < l; j++)
                        {
                            acc += row[j] / sum * v[(((bi * l) + j) * heads * hv) + (n * hv) + d];
                        }

                        output[(((bi * s) + i) * heads * hv) + (n * hv) + d] = acc;
                    }
                }
            }
        }

        return Tensor.FromFloats([b, s, heads * hv], output.Select(x => (float)x).ToArray());
    }

    /// <summary>Slot <paramref name="t"/> of a packed [B,T,N,k,H] tensor as [B,T,N·H].</summary>
    private static double[] Unpack(double[] packed, long b, long t, long heads, long k, long slot, long h)
    {
        var result = new double[b * t * heads * h];
        for (long i = 0; i < b * t; i++)
        {
            for (long n = 0; n < heads; n++)
            {
                for (long d = 0; d < h; d++)
                {
                    result[(i * heads * h) + (n * h) + d] = packed[(((((i * heads) + n) * k) + slot) * h) + d];
                }
            }
        }

        return result;
    }

    /// <summary>
    /// GroupNorm on [N,H,W,C] (channels_last=1): per sample and group of C/G consecutive channels, over all
    /// pixels, (x − mean)/√(var + ε)·γ_c + β_c, then x·sigmoid(x) when the activation is SiLU.
    /// </summary>
    public static Tensor GroupNorm(Tensor x, Tensor gamma, Tensor beta, float epsilon, long groups, bool silu, bool channelsLast)
    {
        Assert.True(channelsLast, "ORT's CUDA GroupNorm implements channels_last=1 only");
        Assert.Equal(DataType.Float, gamma.Type);
        Assert.Equal(DataType.Float, beta.Type);
        var (n, hw, c) = (x.Dims[0], x.Dims[1] * x.Dims[2], x.Dims[3]);
        Assert.Equal(c, gamma.Dims.Single());
        Assert.Equal(0, c % groups);
        Assert.True((c / groups) % 2 == 0, "the CUDA kernel handles two channels per thread: C/G must be even");
        var data = x.ToDoubleArray();
        var g = gamma.ToDoubleArray();
        var be = beta.ToDoubleArray();
        var output = new double[data.Length];
        var perGroup = c / groups;
        for (long ni = 0; ni < n; ni++)
        {
            for (long gi = 0; gi < groups; gi++)
            {
                double sum = 0, sq = 0;
                for (long p = 0; p < hw; p++)
                {
                    for (long ci = gi * perGroup; ci < (gi + 1) * perGroup; ci++)
                    {
                        var value = data[(((ni * hw) + p) * c) + ci];
                        sum += value;
                        sq += value * value;
                    }
                }

                var count = hw * perGroup;
                var mean = sum / count;
                var variance = (sq / count) - (mean * mean);
                var inv = 1 / Math.Sqrt(variance + epsilon);
                for (long p = 0; p < hw; p++)
                {
                    for (long ci = gi * perGroup; ci < (gi + 1) * perGroup; ci++)
                    {
                        var index = (((ni * hw) + p) * c) + ci;
                        var y = ((data[index] - mean) * inv * g[ci]) + be[ci];
                        output[index] = silu ? y / (1 + Math.Exp(-y)) : y;
                    }
                }
            }
        }

        return Tensor.FromFloats(x.Dims, output.Select(v => (float)v).ToArray());
    }
}
