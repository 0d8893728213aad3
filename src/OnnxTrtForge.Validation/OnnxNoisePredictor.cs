using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Validation;

/// <summary>
/// A UNet run by ONNX Runtime. Input and output buffers (and the OrtValues over them) are allocated at the first call
/// and reused for every later step of the same shape; float16 models get their inputs converted into and their
/// outputs out of half buffers, and the timestep is written in the model's declared type and shape.
/// </summary>
public sealed class OnnxNoisePredictor : INoisePredictor
{
    private readonly InferenceSession session;
    private readonly RunOptions runOptions = new();
    private readonly string[] inputNames;
    private readonly string[] outputNames;
    private Bindings? bindings;

    public OnnxNoisePredictor(string modelPath, RuntimeOptions options)
        : this(modelPath, UnetSignature.FromModelFile(modelPath), options)
    {
    }

    public OnnxNoisePredictor(string modelPath, UnetSignature signature, RuntimeOptions options)
    {
        Signature = signature;
        session = OrtSessions.Create(modelPath, options);
        Description = $"{modelPath} ({options.Describe()})";
        inputNames = [signature.Sample.Name, signature.Timestep.Name, signature.Embeddings.Name];
        outputNames = [signature.Output.Name];
    }

    public UnetSignature Signature { get; }

    public string Description { get; }

    /// <summary>Time spent inside <see cref="InferenceSession.Run(RunOptions, IReadOnlyCollection{string}, IReadOnlyCollection{OrtValue}, IReadOnlyCollection{string}, IReadOnlyCollection{OrtValue})"/> alone.</summary>
    public TimeSpan SessionTime { get; private set; }

    public ValueTask PredictAsync(ReadOnlyMemory<float> sample, long[] sampleDims, double timestep, ReadOnlyMemory<float> embeddings, long[] embeddingDims, Memory<float> noise, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var b = bindings;
        if (b is null || !b.Matches(sampleDims, embeddingDims))
        {
            b?.Dispose();
            b = bindings = new Bindings(Signature, sampleDims, embeddingDims);
        }

        b.Sample.Write(sample.Span);
        b.Embeddings.Write(embeddings.Span);
        b.WriteTimestep(timestep);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            session.Run(runOptions, inputNames, b.Inputs, outputNames, b.Outputs);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ForgeInputException($"{Description}: ONNX Runtime failed on sample [{string.Join(",", sampleDims)}], embeddings [{string.Join(",", embeddingDims)}]: {OrtSessions.FirstLine(e.Message)}", e);
        }

        SessionTime += System.Diagnostics.Stopwatch.GetElapsedTime(started);
        b.Output.Read(noise.Span);
        return ValueTask.CompletedTask;
    }

    public void Dispose()
    {
        bindings?.Dispose();
        runOptions.Dispose();
        session.Dispose();
    }

    /// <summary>A float or float16 buffer with its OrtValue.</summary>
    internal sealed class Buffer : IDisposable
    {
        private readonly float[]? single;
        private readonly Float16[]? half;

        public Buffer(DataType type, long[] dims)
        {
            var count = checked((int)dims.Aggregate(1L, (a, d) => a * d));
            if (type == DataType.Float16)
            {
                half = new Float16[count];
                Value = OrtValue.CreateTensorValueFromMemory(half, dims);
            }
            else
            {
                single = new float[count];
                Value = OrtValue.CreateTensorValueFromMemory(single, dims);
            }
        }

        public OrtValue Value { get; }

        public void Write(ReadOnlySpan<float> source)
        {
            if (single is not null)
            {
                source.CopyTo(single);
                return;
            }

            var target = MemoryMarshal.Cast<Float16, Half>(half.AsSpan());
            for (var i = 0; i < target.Length; i++)
            {
                target[i] = (Half)source[i];
            }
        }

        public void Read(Span<float> destination)
        {
            if (single is not null)
            {
                single.CopyTo(destination);
                return;
            }

            var source = MemoryMarshal.Cast<Float16, Half>(half.AsSpan());
            for (var i = 0; i < source.Length; i++)
            {
                destination[i] = (float)source[i];
            }
        }

        public void Dispose() => Value.Dispose();
    }

    private sealed class Bindings : IDisposable
    {
        private readonly long[] sampleDims;
        private readonly long[] embeddingDims;
        private readonly Array timestepArray;

        public Bindings(UnetSignature signature, long[] sampleDims, long[] embeddingDims)
        {
            this.sampleDims = sampleDims;
            this.embeddingDims = embeddingDims;
            Sample = new Buffer(signature.Sample.Type, sampleDims);
            Embeddings = new Buffer(signature.Embeddings.Type, embeddingDims);
            Output = new Buffer(signature.Output.Type, sampleDims);
            long[] timestepDims = signature.Timestep.Rank == 0 ? [] : [signature.Timestep.Dims[0] < 0 ? sampleDims[0] : signature.Timestep.Dims[0]];
            var count = (int)timestepDims.Aggregate(1L, (a, d) => a * d);
            (timestepArray, Timestep) = signature.Timestep.Type switch
            {
                DataType.Float16 => Create(new Float16[count], timestepDims),
                DataType.Double => Create(new double[count], timestepDims),
                DataType.Int64 => Create(new long[count], timestepDims),
                DataType.Int32 => Create(new int[count], timestepDims),
                _ => Create(new float[count], timestepDims),
            };
            Inputs = [Sample.Value, Timestep, Embeddings.Value];
            Outputs = [Output.Value];
        }

        public Buffer Sample { get; }

        public Buffer Embeddings { get; }

        public Buffer Output { get; }

        public OrtValue Timestep { get; }

        public OrtValue[] Inputs { get; }

        public OrtValue[] Outputs { get; }

        public bool Matches(long[] sample, long[] embeddings) => sample.SequenceEqual(sampleDims) && embeddings.SequenceEqual(embeddingDims);

        public void WriteTimestep(double t)
        {
            switch (timestepArray)
            {
                case Float16[] h:
                    MemoryMarshal.Cast<Float16, Half>(h.AsSpan()).Fill((Half)t);
                    break;
                case double[] d:
                    d.AsSpan().Fill(t);
                    break;
                case long[] l:
                    l.AsSpan().Fill((long)Math.Round(t));
                    break;
                case int[] i:
                    i.AsSpan().Fill((int)Math.Round(t));
                    break;
                case float[] f:
                    f.AsSpan().Fill((float)t);
                    break;
            }
        }

        private static (Array, OrtValue) Create<T>(T[] array, long[] dims)
            where T : unmanaged => (array, OrtValue.CreateTensorValueFromMemory(array, dims));

        public void Dispose()
        {
            Sample.Dispose();
            Embeddings.Dispose();
            Output.Dispose();
            Timestep.Dispose();
        }
    }
}
