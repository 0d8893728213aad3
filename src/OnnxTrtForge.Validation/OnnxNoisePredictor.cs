using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Validation;

/// <summary>
/// A UNet run by ONNX Runtime through an <see cref="OrtIoBinding"/> (<see cref="BoundSession"/>): sample, timestep,
/// embeddings and the noise prediction are tensors allocated once on the session's device (GPU memory on CUDA) for the
/// loop's shapes. The embeddings are uploaded once and stay resident; every step only the latent batch goes in and the
/// noise prediction comes out (the small copies that cross PCIe), into the same device buffers, so on CUDA the run is
/// captured once as a CUDA graph and replayed per step (<see cref="RuntimeOptions.CudaGraph"/>; when ONNX Runtime
/// refuses, the loop runs without and <see cref="Description"/> says why). The scheduler math stays in C# on the host,
/// in double (<see cref="DenoiseRun"/>): the device does nothing but the UNet. float16 models get their inputs converted
/// into, and their outputs out of, half on the host; the timestep is written in the model's declared type and shape.
/// On CPU the numbers are exactly those of a plain <c>session.Run</c> over host arrays.
/// </summary>
public sealed class OnnxNoisePredictor : INoisePredictor
{
    private readonly string modelPath;
    private readonly BoundSession bound;
    private Staging? staging;
    private ReadOnlyMemory<float> uploadedEmbeddings;

    public OnnxNoisePredictor(string modelPath, RuntimeOptions options)
        : this(modelPath, UnetSignature.FromModelFile(modelPath), options)
    {
    }

    public OnnxNoisePredictor(string modelPath, UnetSignature signature, RuntimeOptions options)
    {
        Signature = signature;
        this.modelPath = modelPath;
        bound = new BoundSession(modelPath, options, useGraph: true);
    }

    public UnetSignature Signature { get; }

    public string Description => $"{modelPath} ({bound.Description}{(bound.GraphNote is { } note ? "; " + note : "")})";

    /// <summary>Time spent inside the bare session runs alone (no copies, no conversions, no scheduler).</summary>
    public TimeSpan SessionTime { get; private set; }

    /// <summary>Session runs so far.</summary>
    public int Runs { get; private set; }

    public ValueTask PredictAsync(ReadOnlyMemory<float> sample, long[] sampleDims, double timestep, ReadOnlyMemory<float> embeddings, long[] embeddingDims, Memory<float> noise, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var s = Signature;
        long[] timestepDims = s.Timestep.Rank == 0 ? [] : [s.Timestep.Dims[0] < 0 ? sampleDims[0] : s.Timestep.Dims[0]];
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal)
        {
            [s.Sample.Name] = sampleDims,
            [s.Timestep.Name] = timestepDims,
            [s.Embeddings.Name] = embeddingDims,
        };
        if (staging is null || !bound.IsBoundFor(shapes))
        {
            bound.Bind(shapes, new Dictionary<string, long[]>(StringComparer.Ordinal) { [s.Output.Name] = sampleDims });
            staging = new Staging(s, sampleDims, embeddingDims, timestepDims);
            uploadedEmbeddings = default;
        }

        if (!embeddings.Equals(uploadedEmbeddings))
        {
            bound.Upload(s.Embeddings.Name, staging.Embeddings.Encode(embeddings.Span));
            uploadedEmbeddings = embeddings;
        }

        bound.Upload(s.Sample.Name, staging.Sample.Encode(sample.Span));
        bound.Upload(s.Timestep.Name, staging.Timestep(timestep));
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        bound.Run();
        SessionTime += System.Diagnostics.Stopwatch.GetElapsedTime(started);
        Runs++;
        staging.Output.Decode(bound.Output(s.Output.Name), noise.Span);
        return ValueTask.CompletedTask;
    }

    public void Dispose() => bound.Dispose();

    /// <summary>A float tensor's host side: float32 passes through as bytes, float16 goes through a half array.</summary>
    private sealed class HostSide(DataType type, long[] dims)
    {
        private readonly Half[]? half = type == DataType.Float16 ? new Half[checked((int)dims.Aggregate(1L, (a, d) => a * d))] : null;

        public ReadOnlySpan<byte> Encode(ReadOnlySpan<float> values)
        {
            if (half is null)
            {
                return MemoryMarshal.AsBytes(values);
            }

            for (var i = 0; i < half.Length; i++)
            {
                half[i] = (Half)values[i];
            }

            return MemoryMarshal.AsBytes(half.AsSpan());
        }

        public void Decode(DeviceTensor tensor, Span<float> values)
        {
            if (half is null)
            {
                tensor.Download(values);
                return;
            }

            tensor.Download(half.AsSpan());
            for (var i = 0; i < half.Length; i++)
            {
                values[i] = (float)half[i];
            }
        }
    }

    /// <summary>Host staging for one set of loop shapes.</summary>
    private sealed class Staging(UnetSignature signature, long[] sampleDims, long[] embeddingDims, long[] timestepDims)
    {
        private readonly int timestepCount = (int)timestepDims.Aggregate(1L, (a, d) => a * d);

        public HostSide Sample { get; } = new(signature.Sample.Type, sampleDims);

        public HostSide Embeddings { get; } = new(signature.Embeddings.Type, embeddingDims);

        public HostSide Output { get; } = new(signature.Output.Type, sampleDims);

        /// <summary>The timestep, every element, in the model's declared type (integers rounded).</summary>
        public byte[] Timestep(double t)
        {
            var values = new double[timestepCount];
            var integer = signature.Timestep.Type is DataType.Int64 or DataType.Int32;
            values.AsSpan().Fill(integer ? Math.Round(t) : t);
            return BenchShapes.Encode(signature.Timestep.Type switch
            {
                DataType.Float16 => TensorElementType.Float16,
                DataType.Double => TensorElementType.Double,
                DataType.Int64 => TensorElementType.Int64,
                DataType.Int32 => TensorElementType.Int32,
                _ => TensorElementType.Float,
            }, values);
        }
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
}
