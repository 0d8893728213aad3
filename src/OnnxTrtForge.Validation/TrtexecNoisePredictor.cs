using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.TensorRt;

namespace OnnxTrtForge.Validation;

/// <summary>
/// A TensorRT engine as a noise predictor, run step by step through trtexec (<see cref="EngineInference"/>). The engine's
/// input names and types are the reference ONNX model's (<see cref="UnetSignature"/>); each step writes the inputs to
/// files and reads the exported output back, so this path measures agreement, not speed.
/// </summary>
public sealed class TrtexecNoisePredictor : INoisePredictor
{
    private readonly EngineInference inference;
    private readonly string enginePath;

    public TrtexecNoisePredictor(string enginePath, UnetSignature signature, EngineInference inference)
    {
        this.enginePath = enginePath;
        this.inference = inference;
        Signature = signature;
        Description = inference.Tool.IsStandIn
            ? $"{enginePath} (trtexec stand-in {inference.Tool.Path}: a test double, not a real TensorRT engine)"
            : $"{enginePath} (TensorRT via trtexec {inference.Tool.Path})";
    }

    public UnetSignature Signature { get; }

    public string Description { get; }

    public static async Task<TrtexecNoisePredictor> CreateAsync(string enginePath, UnetSignature signature, string? trtexecPath, CancellationToken ct)
    {
        if (!File.Exists(enginePath))
        {
            throw new ForgeInputException($"{enginePath}: engine file not found");
        }

        return new TrtexecNoisePredictor(enginePath, signature, await EngineInference.CreateAsync(trtexecPath, ct).ConfigureAwait(false));
    }

    public async ValueTask PredictAsync(ReadOnlyMemory<float> sample, long[] sampleDims, double timestep, ReadOnlyMemory<float> embeddings, long[] embeddingDims, Memory<float> noise, CancellationToken ct)
    {
        var s = Signature;
        long[] timestepDims = s.Timestep.Rank == 0 ? [] : [s.Timestep.Dims[0] < 0 ? sampleDims[0] : s.Timestep.Dims[0]];
        var timestepCount = (int)timestepDims.Aggregate(1L, (a, d) => a * d);
        var inputs = new List<(string Name, Tensor Value)>
        {
            (s.Sample.Name, Floats(s.Sample.Type, sampleDims, sample.Span)),
            (s.Timestep.Name, TimestepTensor(s.Timestep.Type, timestepDims, timestepCount, timestep)),
            (s.Embeddings.Name, Floats(s.Embeddings.Type, embeddingDims, embeddings.Span)),
        };
        var outputs = await inference.RunAsync(enginePath, inputs, [s.Output.Name], ct).ConfigureAwait(false);
        var values = outputs[0].ToDoubleArray();
        if (values.Length != noise.Length)
        {
            throw new ForgeInputException($"{enginePath}: output '{s.Output.Name}' has {values.Length} elements, expected {noise.Length}");
        }

        var span = noise.Span;
        for (var i = 0; i < values.Length; i++)
        {
            span[i] = (float)values[i];
        }
    }

    private static Tensor Floats(DataType type, long[] dims, ReadOnlySpan<float> values)
    {
        if (type == DataType.Float16)
        {
            var half = new Half[values.Length];
            for (var i = 0; i < values.Length; i++)
            {
                half[i] = (Half)values[i];
            }

            return Tensor.FromArray(DataType.Float16, dims, half);
        }

        return Tensor.FromFloats(dims, values.ToArray());
    }

    private static Tensor TimestepTensor(DataType type, long[] dims, int count, double t) => type switch
    {
        DataType.Float16 => Tensor.FromArray(type, dims, Enumerable.Repeat((Half)t, count).ToArray()),
        DataType.Double => Tensor.FromArray(type, dims, Enumerable.Repeat(t, count).ToArray()),
        DataType.Int64 => Tensor.FromInt64s(dims, Enumerable.Repeat((long)Math.Round(t), count).ToArray()),
        DataType.Int32 => Tensor.FromArray(type, dims, Enumerable.Repeat((int)Math.Round(t), count).ToArray()),
        _ => Tensor.FromFloats(dims, Enumerable.Repeat((float)t, count).ToArray()),
    };

    public void Dispose()
    {
    }
}
