using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Validation.Schedulers;

namespace OnnxTrtForge.Validation;

/// <summary>A model's graph inputs and outputs as declared: dims (-1 where open) and the symbolic names of open dims.</summary>
public sealed record ModelIo(IReadOnlyList<ModelIo.Slot> Inputs, IReadOnlyList<ModelIo.Slot> Outputs)
{
    public sealed record Slot(string Name, long[] Dims, string?[] Symbols, bool RankKnown);

    /// <summary>Reads the declarations (weights stay in their file) and, where the model is a UNet, its signature.</summary>
    public static ModelIo Read(string path, out UnetSignature? unet)
    {
        if (!File.Exists(path))
        {
            throw new ForgeInputException($"{path}: model not found");
        }

        using var model = Core.Serialization.OnnxReader.Load(path);
        try
        {
            unet = UnetSignature.FromModel(model, path);
        }
        catch (ForgeInputException)
        {
            unet = null; // not a UNet: generic defaults
        }

        return new ModelIo(
            model.Graph.Inputs.Where(v => !v.IsInitializer).Select(ToSlot).ToList(),
            model.Graph.Outputs.Select(ToSlot).ToList());
    }

    private static Slot ToSlot(Value v)
    {
        var shape = v.Type?.Shape;
        return shape is null
            ? new Slot(v.Name, [], [], false)
            : new Slot(v.Name, shape.Select(d => d.Value ?? -1).ToArray(), shape.Select(d => string.IsNullOrEmpty(d.Param) ? null : d.Param).ToArray(), true);
    }
}

/// <summary>
/// Concrete input shapes and seeded data for a benchmark. Dims the model leaves open are, in order: what <c>--shape</c>
/// gives (an override also fixes every other input's dim of the same symbolic name); for a UNet, Stable Diffusion's
/// batch 2 (classifier-free guidance), 4×64×64 latents and 77 tokens (the denoising loop's defaults); otherwise batch 1,
/// 4×64×64 for rank-4 inputs, 77 for the second dim of rank-3 inputs, 1 elsewhere.
/// </summary>
public static class BenchShapes
{
    public const long DefaultTokens = 77;

    public static Dictionary<string, long[]> Resolve(string path, ModelIo io, UnetSignature? unet, IReadOnlyDictionary<string, long[]> overrides)
    {
        var symbols = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (name, dims) in overrides)
        {
            if (io.Inputs.FirstOrDefault(i => i.Name == name) is not { } meta)
            {
                continue;
            }

            var declared = meta.Dims;
            if (declared.Length != dims.Length)
            {
                throw new ForgeInputException($"--shape {name}:{string.Join("x", dims)}: {path} declares '{name}' with rank {declared.Length}");
            }

            for (var d = 0; d < dims.Length; d++)
            {
                if (declared[d] > 0 && declared[d] != dims[d])
                {
                    throw new ForgeInputException($"--shape {name}:{string.Join("x", dims)}: {path} fixes dim {d} of '{name}' to {declared[d]}");
                }

                if (meta.Symbols[d] is { } symbol)
                {
                    symbols.TryAdd(symbol, dims[d]);
                }
            }
        }

        var batch = unet is null ? 1 : overrides.TryGetValue(unet.Sample.Name, out var sampleDims) ? sampleDims[0] : unet.Sample.Dims[0] > 0 ? unet.Sample.Dims[0] : 2;
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var meta in io.Inputs)
        {
            var name = meta.Name;
            if (overrides.TryGetValue(name, out var given))
            {
                shapes[name] = given;
                continue;
            }

            var declared = meta.Dims;
            var dims = new long[declared.Length];
            for (var d = 0; d < dims.Length; d++)
            {
                var symbol = meta.Symbols[d];
                dims[d] = declared[d] > 0 ? declared[d]
                    : symbol is not null && symbols.TryGetValue(symbol, out var v) ? v
                    : Default(name, dims.Length, d, unet, batch);
            }

            if (unet is not null && name == unet.Embeddings.Name && declared[2] <= 0)
            {
                throw new ForgeInputException($"{path}: the embedding width of '{name}' is not fixed; give it with --shape {name}:{batch}x{DefaultTokens}xWIDTH");
            }

            shapes[name] = dims;
        }

        return shapes;
    }

    private static long Default(string name, int rank, int d, UnetSignature? unet, long batch)
    {
        if (unet is not null && (name == unet.Sample.Name || name == unet.Embeddings.Name || name == unet.Timestep.Name))
        {
            if (d == 0)
            {
                return batch;
            }

            if (name == unet.Sample.Name)
            {
                return d == 1 ? DenoiseStart.DefaultLatentChannels : DenoiseStart.DefaultLatentSize;
            }

            return DefaultTokens; // embeddings [B, 77, D]
        }

        return (rank, d) switch
        {
            (_, 0) => 1,
            (4, 1) => DenoiseStart.DefaultLatentChannels,
            (4, _) => DenoiseStart.DefaultLatentSize,
            (3, 1) => DefaultTokens,
            _ => 1,
        };
    }

    /// <summary>Output shapes known before running: fixed ones, ones whose symbolic dims the inputs fixed, and a UNet's noise (the sample's shape).</summary>
    public static Dictionary<string, long[]> KnownOutputs(ModelIo io, IReadOnlyDictionary<string, long[]> inputShapes, UnetSignature? unet)
    {
        var symbols = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var meta in io.Inputs)
        {
            if (!inputShapes.TryGetValue(meta.Name, out var dims))
            {
                continue;
            }

            for (var d = 0; d < Math.Min(dims.Length, meta.Symbols.Length); d++)
            {
                if (meta.Symbols[d] is { } symbol)
                {
                    symbols.TryAdd(symbol, dims[d]);
                }
            }
        }

        var known = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var meta in io.Outputs)
        {
            var name = meta.Name;
            if (unet is not null && name == unet.Output.Name && inputShapes.TryGetValue(unet.Sample.Name, out var sample))
            {
                known[name] = sample;
                continue;
            }

            var dims = new long[meta.Dims.Length];
            var all = meta.RankKnown;
            for (var d = 0; d < dims.Length && all; d++)
            {
                var symbol = meta.Symbols[d];
                dims[d] = meta.Dims[d] > 0 ? meta.Dims[d] : symbol is not null && symbols.TryGetValue(symbol, out var v) ? v : -1;
                all = dims[d] >= 0;
            }

            if (all)
            {
                known[name] = dims;
            }
        }

        return known;
    }

    /// <summary>
    /// Seeded data of the input's element type: floats standard normal (latents and embeddings are), a UNet's timestep a
    /// value in [0, 1000), integers in [0, 10), booleans 0/1. The seed mixes in the input's name, so a baseline with the
    /// same input gets the same data.
    /// </summary>
    public static byte[] SeededData(string name, TensorElementType type, long[] dims, bool isTimestep, ulong seed)
    {
        var count = checked((int)dims.Aggregate(1L, (a, d) => a * d));
        var values = new double[count];
        var mixed = seed ^ Fnv1a(name);
        if (isTimestep)
        {
            var random = new Random(unchecked((int)mixed));
            for (var i = 0; i < count; i++)
            {
                values[i] = random.Next(1000);
            }
        }
        else if (type is TensorElementType.Float or TensorElementType.Float16 or TensorElementType.BFloat16 or TensorElementType.Double)
        {
            new SeededGaussian(mixed).Fill(values);
        }
        else
        {
            var random = new Random(unchecked((int)mixed));
            var bound = type == TensorElementType.Bool ? 2 : 10;
            for (var i = 0; i < count; i++)
            {
                values[i] = random.Next(bound);
            }
        }

        return Encode(type, values);
    }

    /// <summary>Doubles as the bytes of a tensor of the given element type.</summary>
    public static byte[] Encode(TensorElementType type, ReadOnlySpan<double> values)
    {
        var bytes = new byte[values.Length * DeviceMemory.ElementSize(type)];
        switch (type)
        {
            case TensorElementType.Float:
                Fill(MemoryMarshal.Cast<byte, float>(bytes.AsSpan()), values, v => (float)v);
                break;
            case TensorElementType.Float16:
                Fill(MemoryMarshal.Cast<byte, Half>(bytes.AsSpan()), values, v => (Half)v);
                break;
            case TensorElementType.BFloat16:
                Fill(MemoryMarshal.Cast<byte, ushort>(bytes.AsSpan()), values, v => (ushort)(BitConverter.SingleToUInt32Bits((float)v) >> 16));
                break;
            case TensorElementType.Double:
                values.CopyTo(MemoryMarshal.Cast<byte, double>(bytes.AsSpan()));
                break;
            case TensorElementType.Int64:
                Fill(MemoryMarshal.Cast<byte, long>(bytes.AsSpan()), values, v => (long)v);
                break;
            case TensorElementType.Int32:
                Fill(MemoryMarshal.Cast<byte, int>(bytes.AsSpan()), values, v => (int)v);
                break;
            case TensorElementType.Int16:
                Fill(MemoryMarshal.Cast<byte, short>(bytes.AsSpan()), values, v => (short)v);
                break;
            case TensorElementType.UInt16:
                Fill(MemoryMarshal.Cast<byte, ushort>(bytes.AsSpan()), values, v => (ushort)v);
                break;
            case TensorElementType.Int8:
                Fill(MemoryMarshal.Cast<byte, sbyte>(bytes.AsSpan()), values, v => (sbyte)v);
                break;
            default: // bool, uint8 and the 32/64-bit unsigned types are small non-negative integers here
                for (var i = 0; i < values.Length; i++)
                {
                    var size = (int)DeviceMemory.ElementSize(type);
                    bytes[i * size] = (byte)values[i];
                }

                break;
        }

        return bytes;
    }

    private static void Fill<T>(Span<T> target, ReadOnlySpan<double> values, Func<double, T> convert)
    {
        for (var i = 0; i < values.Length; i++)
        {
            target[i] = convert(values[i]);
        }
    }

    private static ulong Fnv1a(string text)
    {
        var hash = 14695981039346656037UL;
        foreach (var ch in text)
        {
            hash = unchecked((hash ^ ch) * 1099511628211UL);
        }

        return hash;
    }
}
