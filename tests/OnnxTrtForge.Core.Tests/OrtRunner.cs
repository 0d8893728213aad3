using Microsoft.ML.OnnxRuntime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization;

namespace OnnxTrtForge.Core.Tests;

/// <summary>Runs a saved model in ONNX Runtime (CPU, graph optimizations off) on IR tensors; the reference executor of Core's tests.</summary>
internal static class OrtRunner
{
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
                var t = inputs[i];
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
