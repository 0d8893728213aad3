using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using Xunit.Abstractions;

namespace OnnxTrtForge.Core.Tests.Evaluation;

/// <summary>
/// Folding is exact or absent: every case of <see cref="DifferentialFoldingCorpus"/> is folded by forge
/// and run by ONNX Runtime (CPU, optimizations off); wherever forge folds, its bytes equal the runtime's
/// (NaN matches NaN whatever its payload). Cases the runtime refuses (no kernel for the type) are counted,
/// not compared.
/// </summary>
public sealed class DifferentialFoldingTests(ITestOutputHelper output)
{
    private static Model Build(DifferentialFoldingCorpus.Case c)
    {
        var graph = new Graph("corpus");
        var model = new Model(graph);
        model.OpsetImports[""] = c.Opset;
        var inputs = c.Inputs.Select((t, i) => graph.AddInitializer(t, $"in{i}")).ToList();
        var node = graph.Create(c.Op, inputs, c.Outputs, c.Attributes);
        for (var i = 0; i < c.Outputs; i++)
        {
            // an Identity behind the node, so the node itself is not a graph output and may fold
            var identity = graph.Create("Identity", [node.Outputs[i]]);
            identity.Outputs[0].Name = $"y{i}";
            graph.Outputs.Add(identity.Outputs[0]);
        }

        return model;
    }

    private static bool SameBits(Tensor want, Tensor got)
    {
        if (want.Type != got.Type || !want.Dims.SequenceEqual(got.Dims))
        {
            return false;
        }

        if (!want.Type.IsFloatingPoint())
        {
            return want.Data.Span.SequenceEqual(got.Data.Span);
        }

        var a = want.ToDoubleArray();
        var b = got.ToDoubleArray();
        return a.Zip(b).All(p => (double.IsNaN(p.First) && double.IsNaN(p.Second)) || BitConverter.DoubleToInt64Bits(p.First) == BitConverter.DoubleToInt64Bits(p.Second));
    }

    [Fact]
    public void Every_fold_of_the_corpus_equals_onnx_runtime_bit_for_bit_and_nothing_crashes()
    {
        var cases = DifferentialFoldingCorpus.All().ToList();
        int folded = 0, unfolded = 0, refused = 0;
        var mismatches = new List<string>();
        var foldedOps = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var c in cases)
        {
            IReadOnlyList<Tensor>? expected;
            try
            {
                expected = OrtRunner.Run(Build(c), []);
            }
            catch (Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
            {
                expected = null;
            }

            using var model = Build(c);
            new ConstantFoldingPass().Run(model);
            var identities = model.Graph.Outputs.Select(o => o.Producer!.Inputs[0]!).ToList();
            if (!identities.All(v => v.IsInitializer))
            {
                unfolded++;
                continue;
            }

            if (expected is null)
            {
                refused++;
                continue;
            }

            folded++;
            foldedOps.Add($"{c.Op}:{c.Type.OnnxName()}");
            for (var i = 0; i < identities.Count; i++)
            {
                if (!SameBits(expected[i], identities[i].Initializer!))
                {
                    mismatches.Add($"{c.Name}: output {i} forge [{string.Join(", ", identities[i].Initializer!.ToDoubleArray().Take(8))}] runtime [{string.Join(", ", expected[i].ToDoubleArray().Take(8))}]");
                }
            }
        }

        output.WriteLine($"corpus: {cases.Count} cases, {cases.Select(c => c.Op).Distinct().Count()} ops x {DifferentialFoldingCorpus.Types.Length} types; " +
            $"folded and compared {folded} ({foldedOps.Count} op/type pairs), left unfolded {unfolded}, folded where the runtime has no kernel {refused}");
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} folds differ from ONNX Runtime:\n" + string.Join("\n", mismatches.Take(60)));
        Assert.True(foldedOps.Count >= 150, $"only {foldedOps.Count} op/type pairs folded: the claims have shrunk");
    }
}
