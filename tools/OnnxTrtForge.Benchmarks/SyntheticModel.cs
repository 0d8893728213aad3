using System.Buffers.Binary;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Benchmarks;

/// <summary>
/// Generates a full-size-like model: blocks of exporter-style shape chains (Shape→Gather→Unsqueeze→
/// Concat→Reshape with Constant operands), an Identity on the weight, MatMul + Add, a same-type Cast and
/// SiLU. Weights are produced while they are written, so gigabytes never sit in memory.
/// </summary>
internal static class SyntheticModel
{
    public static Model Build(int blocks, int width, DataType weightType)
    {
        var graph = new Graph("synthetic");
        var model = new Model(graph) { IrVersion = 8, ProducerName = "forge-bench synthetic" };
        model.OpsetImports[""] = 17;
        var h = graph.AddInput("sample", TypeInfo.OfTensor(weightType, [2, 64, width]));
        for (var i = 0; i < blocks; i++)
        {
            var weight = graph.AddInitializer(new Tensor(weightType, [width, width], new SyntheticData(weightType, (long)width * width, seed: i)), $"blocks.{i}.weight");
            var bias = graph.AddInitializer(new Tensor(weightType, [width], new SyntheticData(weightType, width, seed: 100_000 + i)), $"blocks.{i}.bias");
            var shape = graph.Create("Shape", [h], nameHint: $"/blocks.{i}/Shape").Outputs[0];
            Value Const(long[] values, long[] dims) =>
                graph.Create("Constant", [], attributes: [Core.Ir.Attribute.TensorValue("value", Tensor.FromInt64s(dims, values))], nameHint: $"/blocks.{i}/Constant").Outputs[0];
            var g0 = graph.Create("Gather", [shape, Const([0], [])], attributes: [Core.Ir.Attribute.Int("axis", 0)], nameHint: $"/blocks.{i}/Gather").Outputs[0];
            var g1 = graph.Create("Gather", [shape, Const([1], [])], attributes: [Core.Ir.Attribute.Int("axis", 0)], nameHint: $"/blocks.{i}/Gather").Outputs[0];
            var u0 = graph.Create("Unsqueeze", [g0, Const([0], [1])], nameHint: $"/blocks.{i}/Unsqueeze").Outputs[0];
            var u1 = graph.Create("Unsqueeze", [g1, Const([0], [1])], nameHint: $"/blocks.{i}/Unsqueeze").Outputs[0];
            var target = graph.Create("Concat", [u0, u1, Const([-1], [1])], attributes: [Core.Ir.Attribute.Int("axis", 0)], nameHint: $"/blocks.{i}/Concat").Outputs[0];
            var reshaped = graph.Create("Reshape", [h, target], nameHint: $"/blocks.{i}/Reshape").Outputs[0];
            var w = graph.Create("Identity", [weight], nameHint: $"/blocks.{i}/Identity").Outputs[0];
            var mm = graph.Create("MatMul", [reshaped, w], nameHint: $"/blocks.{i}/MatMul").Outputs[0];
            var add = graph.Create("Add", [mm, bias], nameHint: $"/blocks.{i}/Add").Outputs[0];
            var cast = graph.Create("Cast", [add], attributes: [Core.Ir.Attribute.Int("to", (long)weightType)], nameHint: $"/blocks.{i}/Cast").Outputs[0];
            var sig = graph.Create("Sigmoid", [cast], nameHint: $"/blocks.{i}/Sigmoid").Outputs[0];
            h = graph.Create("Mul", [cast, sig], nameHint: $"/blocks.{i}/Mul").Outputs[0];
        }

        graph.Outputs.Add(h);
        h.Type = TypeInfo.OfTensor(weightType, [2, 64, width]);
        return model;
    }

    /// <summary>Deterministic small weights (|w| ≤ 1/64), generated on demand in 1 MiB pieces.</summary>
    private sealed class SyntheticData(DataType type, long count, int seed) : TensorData
    {
        public override long Length => count * type.ElementSize();

        public override string Origin => "synthetic";

        public override ReadOnlySpan<byte> Span
        {
            get
            {
                var bytes = new byte[Length];
                Fill(bytes, 0);
                return bytes;
            }
        }

        public override void CopyTo(Stream destination)
        {
            var buffer = new byte[1 << 20];
            for (long done = 0; done < Length; done += buffer.Length)
            {
                var n = (int)Math.Min(buffer.Length, Length - done);
                Fill(buffer.AsSpan(0, n), done / type.ElementSize());
                destination.Write(buffer, 0, n);
            }
        }

        private void Fill(Span<byte> target, long firstElement)
        {
            var size = type.ElementSize();
            for (var i = 0; i < target.Length / size; i++)
            {
                var x = (ulong)(firstElement + i) * 0x9E3779B97F4A7C15UL ^ (ulong)seed * 0xBF58476D1CE4E5B9UL;
                x ^= x >> 31;
                var v = ((x & 0xFFFF) / 65535f - 0.5f) / 32f;
                if (type == DataType.Float16)
                {
                    BinaryPrimitives.WriteHalfLittleEndian(target[(i * 2)..], (Half)v);
                }
                else
                {
                    BinaryPrimitives.WriteSingleLittleEndian(target[(i * 4)..], v);
                }
            }
        }
    }
}
