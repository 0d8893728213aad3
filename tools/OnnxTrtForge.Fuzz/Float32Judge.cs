using System.Globalization;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Core.Serialization.Proto;
using OnnxTrtForge.Validation;
using Tensor = OnnxTrtForge.Core.Ir.Tensor;

namespace OnnxTrtForge.Fuzz;

/// <summary>One output judged against the float32 evaluation of the reference graph.</summary>
/// <param name="ReferenceError">rel L2 of the fp16 reference against the float32 evaluation, over the positions where all three are finite.</param>
/// <param name="OutputError">the same for forge's output, over the same positions.</param>
/// <param name="ReferenceOverflows">positions where the float32 evaluation is finite and the fp16 reference is not.</param>
/// <param name="OutputOverflows">the same for forge's output.</param>
/// <param name="Mismatch">why forge's output is worse than the reference, or null when it is not.</param>
internal sealed record Float32Judgement(string Output, double ReferenceError, double OutputError, long ReferenceOverflows, long OutputOverflows, long Total, string? Mismatch)
{
    /// <summary>rel L2 of forge's output from the float32 evaluation where the reference overflowed and forge's output did not.</summary>
    public double RecoveredError { get; init; }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"'{Output}' vs its float32 evaluation: where both are finite, reference rel L2 {ReferenceError:0.###e+0}, forge's output {OutputError:0.###e+0}; {ReferenceOverflows} of {Total} reference values overflowed (forge's output there: rel L2 {RecoveredError:0.###e+0}), {OutputOverflows} of forge's");
}

/// <summary>
/// The oracle of an fp16/bf16 case whose output differs from its reference beyond <c>--check</c>'s fp16 tolerance.
/// Both the reference and forge's output are evaluations, in fp16, of one graph whose exact meaning ONNX states
/// without an accumulation order: a MatMul may round after every product or once, a scale may be applied
/// before or after a reduction. Where the graph is ill-conditioned (the fuzzer's ±65504 weights make it so),
/// two valid evaluation orders differ by more than fp16's usual rounding, and in the extreme one overflows
/// where the other does not. The yardstick is then the graph's own float32 evaluation: every fp16/bf16
/// weight, constant, value and Cast of the reference widened to float32 (the fp16 values are exact in float32),
/// run in ONNX Runtime on the same inputs. Forge's output is no worse than the reference when it overflows
/// nowhere the reference does not, keeps every non-finite value the float32 evaluation has (a NaN weight's NaN), and
/// its rel L2 from the float32 evaluation is at most the reference's plus the fp16 tolerance (where the reference
/// overflowed and forge's output did not, within 1e-2, forge's own tolerance for an fp16 evaluation of a float32 graph).
/// Otherwise the case stays wrong-output.
/// </summary>
internal static class Float32Judge
{
    /// <summary>Null when a model cannot be widened or run here (the case keeps its first verdict).</summary>
    public static IReadOnlyList<Float32Judgement>? Judge(string referencePath, string outputPath, string folder, int seed, double tolerance)
    {
        var widenedPath = Path.Combine(folder, "reference.float32.onnx");
        if (!Widen(referencePath, widenedPath))
        {
            return null;
        }

        var runtime = new RuntimeOptions { Optimize = false, Threads = 1 };
        using var reference = OrtSessions.Create(referencePath, runtime);
        using var output = OrtSessions.Create(outputPath, runtime);
        using var widened = OrtSessions.Create(widenedPath, runtime);
        var inputs = Inputs(reference, folder, seed);
        var want = OptimizeCheck.Execute(widened, inputs);
        var a = OptimizeCheck.Execute(reference, inputs);
        var b = OptimizeCheck.Execute(output, inputs);
        var judgements = new List<Float32Judgement>();
        foreach (var (name, exact) in want)
        {
            // the same shape first: a transposed output of the same size must not pass for a reordered one
            if (!a.TryGetValue(name, out var r) || !b.TryGetValue(name, out var o) || !r.Shape.SequenceEqual(exact.Shape) || !o.Shape.SequenceEqual(exact.Shape))
            {
                judgements.Add(new Float32Judgement(name, 0, 0, 0, 0, exact.Values.Length, "the outputs' shapes differ"));
                continue;
            }

            judgements.Add(Compare(name, exact.Values, r.Values, o.Values, tolerance));
        }

        return judgements;
    }

    /// <summary>
    /// Where the float32 evaluation, the reference and forge's output are all finite, forge's rel L2 from the float32
    /// evaluation may exceed the reference's by <paramref name="tolerance"/> at most. Where the reference overflowed
    /// and forge's output did not, the reference says nothing: there forge's values are held to the float32
    /// evaluation within <see cref="RecoveredTolerance"/>, the bound forge itself accepts for an fp16 evaluation of a
    /// float32 graph (<c>forge optimize --fp16 --check</c>).
    /// </summary>
    internal static Float32Judgement Compare(string name, double[] exact, double[] reference, double[] output, double tolerance)
    {
        long referenceOverflows = 0, outputOverflows = 0;
        string? mismatch = null;
        var (rNum, oNum, den) = (0.0, 0.0, 0.0);
        var (recoveredNum, recoveredDen) = (0.0, 0.0);
        for (var i = 0; i < exact.Length; i++)
        {
            double e = exact[i], r = reference[i], o = output[i];
            if (!double.IsFinite(e))
            {
                // the graph's own NaN/Inf (a NaN weight, an infinity it computes in float32 too) must be kept
                if (!(double.IsNaN(e) && double.IsNaN(o)) && !(double.IsInfinity(e) && o.Equals(e)) && !(double.IsInfinity(e) && double.IsNaN(o) && double.IsNaN(r)))
                {
                    mismatch ??= $"at element {i} the float32 evaluation is {e} and forge's output {o}";
                }

                continue;
            }

            referenceOverflows += double.IsFinite(r) ? 0 : 1;
            outputOverflows += double.IsFinite(o) ? 0 : 1;
            if (!double.IsFinite(o) && double.IsFinite(r))
            {
                mismatch ??= $"at element {i} forge's output is {o} where the reference ({r}) and the float32 evaluation ({e}) are finite";
            }
            else if (double.IsFinite(o) && double.IsFinite(r))
            {
                rNum += (r - e) * (r - e);
                oNum += (o - e) * (o - e);
                den += e * e;
            }
            else if (double.IsFinite(o))
            {
                recoveredNum += (o - e) * (o - e);
                recoveredDen += e * e;
            }
        }

        static double Rel(double num, double den) => den > 0 ? Math.Sqrt(num / den) : Math.Sqrt(num);
        var referenceError = Rel(rNum, den);
        var outputError = Rel(oNum, den);
        var recoveredError = Rel(recoveredNum, recoveredDen);
        if (mismatch is null && outputError > referenceError + tolerance)
        {
            mismatch = string.Create(CultureInfo.InvariantCulture, $"forge's output is further from the float32 evaluation ({outputError:0.###e+0}) than the reference ({referenceError:0.###e+0}) by more than {tolerance:0.#e+0}");
        }

        if (mismatch is null && recoveredError > RecoveredTolerance)
        {
            mismatch = string.Create(CultureInfo.InvariantCulture, $"where the reference overflowed, forge's output is {recoveredError:0.###e+0} from the float32 evaluation (more than {RecoveredTolerance:0.#e+0})");
        }

        return new Float32Judgement(name, referenceError, outputError, referenceOverflows, outputOverflows, exact.Length, mismatch) { RecoveredError = recoveredError };
    }

    /// <summary>rel L2 forge accepts between an fp16 evaluation and its float32 graph: <c>forge optimize --fp16 --check</c>'s tolerance.</summary>
    internal const double RecoveredTolerance = 1e-2;

    /// <summary>Writes the reference with every fp16/bf16 element type widened to float32; false when it has nothing to widen.</summary>
    internal static bool Widen(string path, string widenedPath)
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        var widened = WidenGraph(model.Graph);
        if (widened == 0)
        {
            return false;
        }

        File.WriteAllBytes(widenedPath, model.ToByteArray());
        return true;
    }

    private const int Float = (int)TensorProto.Types.DataType.Float;

    private static bool IsHalf(int type) => type is (int)TensorProto.Types.DataType.Float16 or (int)TensorProto.Types.DataType.Bfloat16;

    private static int WidenGraph(GraphProto graph)
    {
        var count = 0;
        foreach (var t in graph.Initializer)
        {
            count += WidenTensor(t);
        }

        foreach (var v in graph.Input.Concat(graph.Output).Concat(graph.ValueInfo))
        {
            if (v.Type?.TensorType is { } tensor && IsHalf(tensor.ElemType))
            {
                tensor.ElemType = Float;
                count++;
            }
        }

        foreach (var node in graph.Node)
        {
            foreach (var a in node.Attribute)
            {
                if (node.OpType is "Cast" && a.Name == "to" && IsHalf((int)a.I))
                {
                    a.I = Float;
                    count++;
                }

                if (a.T is not null)
                {
                    count += WidenTensor(a.T);
                }

                foreach (var t in a.Tensors)
                {
                    count += WidenTensor(t);
                }

                if (a.G is not null)
                {
                    count += WidenGraph(a.G);
                }

                foreach (var g in a.Graphs)
                {
                    count += WidenGraph(g);
                }
            }
        }

        return count;
    }

    /// <summary>fp16/bf16 payload → float32 (exact: every fp16 and bf16 value is a float32 value).</summary>
    private static int WidenTensor(TensorProto t)
    {
        if (!IsHalf(t.DataType))
        {
            return 0;
        }

        var half = t.DataType == (int)TensorProto.Types.DataType.Float16;
        ushort[] bits = t.RawData.Length > 0
            ? MemoryMarshal.Cast<byte, ushort>(t.RawData.Span).ToArray()
            : t.Int32Data.Select(v => (ushort)v).ToArray();
        var floats = bits.Select(b => half ? (float)BitConverter.UInt16BitsToHalf(b) : BitConverter.Int32BitsToSingle(b << 16)).ToArray();
        t.DataType = Float;
        t.Int32Data.Clear();
        t.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(floats.AsSpan()));
        return 1;
    }

    /// <summary>The case's test_data_set_0 inputs when it has them, else <see cref="OptimizeCheck.RandomInputs"/> seeded with the case.</summary>
    private static Dictionary<string, Tensor> Inputs(InferenceSession session, string folder, int seed)
    {
        var data = Path.Combine(folder, "test_data_set_0");
        if (!Directory.Exists(data))
        {
            return OptimizeCheck.RandomInputs(session, seed);
        }

        var inputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (var i = 0; i < session.InputNames.Count; i++)
        {
            inputs[session.InputNames[i]] = OnnxReader.LoadTensor(Path.Combine(data, $"input_{i}.pb"));
        }

        return inputs;
    }
}
