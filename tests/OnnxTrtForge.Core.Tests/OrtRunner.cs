using System.Buffers.Binary;
using Microsoft.ML.OnnxRuntime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization;

namespace OnnxTrtForge.Core.Tests;

/// <summary>Runs a saved model in ONNX Runtime (CPU, graph optimizations off) on IR tensors; the reference executor of Core's tests.</summary>
internal static class OrtRunner
{
    /// <summary>Saves the model to a temporary file and runs it.</summary>
    public static IReadOnlyList<Tensor> Run(Model model, IReadOnlyList<Tensor> inputs)
    {
        using var temp = OnnxTrtForge.Testing.Fixtures.Temp();
        var path = temp.File("model.onnx");
        OnnxWriter.Save(model, path);
        return Run(path, inputs);
    }

    /// <summary>Runs the model file on inputs in graph-input order; float inputs are converted to the session's float type.</summary>
    public static IReadOnlyList<Tensor> Run(string modelPath, IReadOnlyList<Tensor> inputs)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL, IntraOpNumThreads = 2 };
        using var session = new InferenceSession(modelPath, options);
        var names = session.InputNames;
        var values = new List<OrtValue>();
        try
        {
            for (var i = 0; i < inputs.Count; i++)
            {
                var wanted = (DataType)(int)session.InputMetadata[names[i]].ElementDataType;
                var t = inputs[i].Type == wanted || !inputs[i].Type.IsFloatingPoint() ? inputs[i] : Convert(inputs[i], wanted);
                var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, (TensorElementType)(int)t.Type, t.Dims);
                t.Data.Span.CopyTo(value.GetTensorMutableRawData());
                values.Add(value);
            }

            using var run = new RunOptions();
            using var outputs = session.Run(run, names.Take(inputs.Count).ToArray(), values, session.OutputNames);
            return outputs.Select((o, i) =>
            {
                var info = o.GetTensorTypeAndShape();
                return new Tensor((DataType)(int)info.ElementDataType, info.Shape, TensorData.FromBytes(o.GetTensorMutableRawData().ToArray()), session.OutputNames[i]);
            }).ToList();
        }
        finally
        {
            foreach (var v in values)
            {
                v.Dispose();
            }
        }
    }

    /// <summary>Converts a floating tensor to float or float16.</summary>
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

    public static bool HasNonFinite(Tensor tensor) => tensor.ToDoubleArray().Any(v => !double.IsFinite(v));

    /// <summary>Deterministic uniform floats in [-scale, scale].</summary>
    public static Tensor RandomFloats(long[] dims, int seed, float scale = 1f)
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

    /// <summary>The inputs of a fixture's test_data_set_0, in order.</summary>
    public static IReadOnlyList<Tensor> TestInputs(string fixtureDir) =>
        Directory.GetFiles(Path.Combine(fixtureDir, "test_data_set_0"), "input_*.pb").Order(StringComparer.Ordinal).Select(OnnxReader.LoadTensor).ToList();

    public static Tensor TestOutput(string fixtureDir) => OnnxReader.LoadTensor(Path.Combine(fixtureDir, "test_data_set_0", "output_0.pb"));

    /// <summary>‖a − b‖ / ‖b‖ over the elements read as doubles.</summary>
    public static double RelativeL2(Tensor actual, Tensor expected)
    {
        var a = actual.ToDoubleArray();
        var b = expected.ToDoubleArray();
        Assert.Equal(b.Length, a.Length);
        double num = 0, den = 0;
        for (var i = 0; i < a.Length; i++)
        {
            num += (a[i] - b[i]) * (a[i] - b[i]);
            den += b[i] * b[i];
        }

        return Math.Sqrt(num / Math.Max(den, 1e-30));
    }
}
