using System.Buffers.Binary;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Tensor = OnnxTrtForge.Core.Ir.Tensor;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization;

namespace OnnxTrtForge.Core.Tests.Passes.Fp16;

/// <summary>Runs models in ONNX Runtime (CPU, optimizations off) on IR tensors, and compares outputs.</summary>
internal static class OrtHarness
{
    /// <summary>Saves the model to a temporary file and runs it.</summary>
    public static IReadOnlyList<Tensor> Run(Model model, IReadOnlyList<Tensor> inputs)
    {
        using var temp = OnnxTrtForge.Testing.Fixtures.Temp();
        var path = temp.File("model.onnx");
        OnnxWriter.Save(model, path);
        return Run(path, inputs);
    }

    /// <summary>Runs the model file on inputs given in graph-input order; converts float inputs to the session's input type.</summary>
    public static IReadOnlyList<Tensor> Run(string modelPath, IReadOnlyList<Tensor> inputs)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL, IntraOpNumThreads = 1 };
        using var session = new InferenceSession(modelPath, options);
        var names = session.InputNames.ToArray();
        var values = new List<OrtValue>();
        try
        {
            for (var i = 0; i < names.Length; i++)
            {
                var wanted = (DataType)(int)session.InputMetadata[names[i]].ElementDataType;
                var tensor = inputs[i].Type == wanted ? inputs[i] : Convert(inputs[i], wanted);
                var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, (TensorElementType)(int)wanted, tensor.Dims);
                tensor.Data.Span.CopyTo(value.GetTensorMutableRawData());
                values.Add(value);
            }

            using var run = new RunOptions();
            using var results = session.Run(run, names, values, session.OutputNames);
            return results.Select(r =>
            {
                var info = r.GetTensorTypeAndShape();
                return new Tensor((DataType)(int)info.ElementDataType, info.Shape, TensorData.FromBytes(r.GetTensorMutableRawData().ToArray()));
            }).ToList();
        }
        finally
        {
            foreach (var value in values)
            {
                value.Dispose();
            }
        }
    }

    /// <summary>Converts a floating tensor to another floating type.</summary>
    public static Tensor Convert(Tensor tensor, DataType type)
    {
        var values = tensor.ToDoubleArray();
        var bytes = new byte[values.Length * type.ElementSize()];
        for (var i = 0; i < values.Length; i++)
        {
            switch (type)
            {
                case DataType.Float:
                    BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), (float)values[i]);
                    break;
                case DataType.Float16:
                    BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(i * 2), (Half)values[i]);
                    break;
                default:
                    throw new NotSupportedException(type.ToString());
            }
        }

        return new Tensor(type, tensor.Dims, TensorData.FromBytes(bytes));
    }

    /// <summary>‖a − b‖₂ / ‖b‖₂ over all elements (b is the reference).</summary>
    public static double RelativeL2(Tensor candidate, Tensor reference)
    {
        var a = candidate.ToDoubleArray();
        var b = reference.ToDoubleArray();
        Assert.Equal(b.Length, a.Length);
        double diff = 0, norm = 0;
        for (var i = 0; i < a.Length; i++)
        {
            diff += (a[i] - b[i]) * (a[i] - b[i]);
            norm += b[i] * b[i];
        }

        return Math.Sqrt(diff / norm);
    }

    public static bool HasNaNOrInf(Tensor tensor) => tensor.ToDoubleArray().Any(v => !double.IsFinite(v));

    /// <summary>Deterministic uniform values in [-scale, scale].</summary>
    public static Tensor Random(long[] dims, int seed, float scale = 1f)
    {
        var random = new Random(seed);
        var n = (int)dims.Aggregate(1L, (a, b) => a * b);
        var values = new float[n];
        for (var i = 0; i < n; i++)
        {
            values[i] = (float)((random.NextDouble() * 2 - 1) * scale);
        }

        return Tensor.FromFloats(dims, values);
    }

    /// <summary>The test_data_set_0 inputs and outputs of a fixture.</summary>
    public static (List<Tensor> Inputs, List<Tensor> Outputs) TestData(string fixture)
    {
        var folder = Path.Combine(OnnxTrtForge.Testing.Fixtures.Dir(fixture), "test_data_set_0");
        List<Tensor> Load(string prefix) => Enumerable.Range(0, 16)
            .Select(i => Path.Combine(folder, $"{prefix}_{i}.pb"))
            .TakeWhile(File.Exists)
            .Select(OnnxReader.LoadTensor)
            .ToList();
        return (Load("input"), Load("output"));
    }
}
