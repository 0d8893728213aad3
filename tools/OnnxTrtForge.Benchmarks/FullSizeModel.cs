using System.Runtime.InteropServices;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization;

namespace OnnxTrtForge.Benchmarks;

/// <summary>What a rebuild wrote.</summary>
public sealed record RebuildResult(string ModelPath, IReadOnlyList<string> WeightFiles, long WeightBytes, int Tensors);

/// <summary>
/// Rebuilds a full-size model from its graph-only export and weight statistics: the graph is copied,
/// and every weights file it names is written with seeded values of each tensor's statistics
/// (uniform on mean ± √3·std, clipped to [min, max]) at the offsets and lengths the graph names.
/// The file is written in 4 MiB pieces by positional writes on every core, each piece seeded by
/// (seed, tensor, piece) alone, so the bytes do not depend on the number of threads and memory stays
/// at a few pieces whatever the model's size.
/// </summary>
public static class FullSizeModel
{
    private const int Piece = 4 << 20;

    public static RebuildResult Rebuild(string graphPath, string statsPath, string outputFolder, ulong seed = 0, CancellationToken cancellationToken = default)
    {
        var stats = WeightStatsFile.Load(statsPath);
        var refs = ExternalDataIndex.Read(graphPath);
        var modelPath = Path.Combine(Path.GetFullPath(outputFolder), Path.GetFileName(graphPath));
        var jobs = new List<(int Tensor, string File, long Offset, int Length, TensorStats Stats)>();
        var files = new Dictionary<string, long>(StringComparer.Ordinal);
        var missing = stats.Tensors.Keys.ToHashSet(StringComparer.Ordinal);
        for (var index = 0; index < refs.Count; index++)
        {
            var r = refs[index];
            var place = $"{graphPath}: tensor '{r.Name}'";
            if (!stats.Tensors.TryGetValue(r.Name, out var s))
            {
                throw new ForgeInputException($"{place}: no statistics in {statsPath}");
            }

            missing.Remove(r.Name);
            var expected = r.Type.ByteCount(r.Dims.Aggregate(1L, (a, d) => a * d));
            var length = r.Length >= 0 ? r.Length : expected;
            if (s.Type != r.Type || s.Offset != r.Offset || s.Length != length || length != expected || !s.Dims.SequenceEqual(r.Dims))
            {
                throw new ForgeInputException($"{place}: the graph says {r.Type.OnnxName()}[{string.Join(",", r.Dims)}] at {r.Offset}+{length}, {statsPath} says {s.Type.OnnxName()}[{string.Join(",", s.Dims)}] at {s.Offset}+{s.Length}");
            }

            if (!Writable(r.Type))
            {
                throw new ForgeInputException($"{place}: cannot synthesize {r.Type.OnnxName()} values");
            }

            var file = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(modelPath)!, r.Location));
            if (!file.StartsWith(Path.GetDirectoryName(modelPath)! + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw new ForgeInputException($"{place}: external data location '{r.Location}' escapes the model's folder");
            }

            files[file] = Math.Max(files.GetValueOrDefault(file), r.Offset + length);
            var step = Piece / r.Type.ElementSize() * r.Type.ElementSize();
            for (long done = 0; done < length; done += step)
            {
                jobs.Add((index, file, r.Offset + done, (int)Math.Min(step, length - done), s));
            }
        }

        if (missing.Count > 0)
        {
            throw new ForgeInputException($"{statsPath}: {missing.Count} tensors the graph does not name as external data, e.g. '{missing.First()}'");
        }

        Directory.CreateDirectory(outputFolder);
        File.Copy(graphPath, modelPath, overwrite: true);
        var handles = new Dictionary<string, Microsoft.Win32.SafeHandles.SafeFileHandle>(StringComparer.Ordinal);
        try
        {
            foreach (var (file, size) in files)
            {
                var handle = File.OpenHandle(file, FileMode.Create, FileAccess.Write, FileShare.None);
                handles[file] = handle;
                RandomAccess.SetLength(handle, size);
            }

            // pieces of one tensor are numbered from its first byte, so the values do not depend on the split
            Parallel.ForEach(
                jobs,
                new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken },
                () => new byte[Piece],
                (job, _, buffer) =>
                {
                    var r = refs[job.Tensor];
                    var pieceIndex = (ulong)((job.Offset - r.Offset) / Piece);
                    var span = buffer.AsSpan(0, job.Length);
                    Fill(span, job.Stats, Mix(seed ^ Mix((ulong)job.Tensor + 1) ^ Mix(pieceIndex + 0x9E3779B97F4A7C15UL)));
                    RandomAccess.Write(handles[job.File], span, job.Offset);
                    return buffer;
                },
                _ => { });
        }
        finally
        {
            foreach (var handle in handles.Values)
            {
                handle.Dispose();
            }
        }

        return new RebuildResult(modelPath, files.Keys.ToList(), files.Values.Sum(), refs.Count);
    }

    private static bool Writable(DataType type) => type is DataType.Float or DataType.Float16 or DataType.BFloat16 or DataType.Double or DataType.Int64 or DataType.Int32;

    /// <summary>Seeded values of <paramref name="stats"/>: uniform on mean ± √3·std (that uniform's std is std), clipped to [min, max].</summary>
    internal static void Fill(Span<byte> destination, TensorStats stats, ulong state)
    {
        var std = double.IsFinite(stats.Std) ? stats.Std : 0;
        var mean = double.IsFinite(stats.Mean) ? stats.Mean : 0;
        var lo = double.IsFinite(stats.Min) ? stats.Min : double.NegativeInfinity;
        var hi = double.IsFinite(stats.Max) ? stats.Max : double.PositiveInfinity;
        var low = (float)(mean - (Math.Sqrt(3) * std));
        var width = (float)(2 * Math.Sqrt(3) * std);
        var min = (float)Math.Max(lo, double.MinValue);
        var max = (float)Math.Min(hi, double.MaxValue);
        if (min > max)
        {
            (min, max) = (max, min);
        }

        var random = new Uniform(state, low, width, min, max);
        switch (stats.Type)
        {
            case DataType.Float:
                foreach (ref var x in MemoryMarshal.Cast<byte, float>(destination))
                {
                    x = random.Next();
                }

                break;
            case DataType.Float16:
                foreach (ref var x in MemoryMarshal.Cast<byte, Half>(destination))
                {
                    x = (Half)random.Next();
                }

                break;
            case DataType.BFloat16:
                foreach (ref var x in MemoryMarshal.Cast<byte, ushort>(destination))
                {
                    // truncation keeps the value inside [min, max] when the bounds are bf16 values themselves
                    x = (ushort)(BitConverter.SingleToUInt32Bits(random.Next()) >> 16);
                }

                break;
            case DataType.Double:
                foreach (ref var x in MemoryMarshal.Cast<byte, double>(destination))
                {
                    x = random.Next();
                }

                break;
            case DataType.Int64:
                foreach (ref var x in MemoryMarshal.Cast<byte, long>(destination))
                {
                    x = (long)Math.Round(random.Next());
                }

                break;
            case DataType.Int32:
                foreach (ref var x in MemoryMarshal.Cast<byte, int>(destination))
                {
                    x = (int)Math.Round(random.Next());
                }

                break;
            default:
                throw new ForgeInputException($"cannot synthesize {stats.Type.OnnxName()} values");
        }
    }

    /// <summary>Uniform values on [low, low + width] clipped to [min, max]: two 24-bit draws per SplitMix64 step.</summary>
    private struct Uniform(ulong state, float low, float width, float min, float max)
    {
        private ulong spare;
        private bool hasSpare;

        public float Next()
        {
            uint bits;
            if (hasSpare)
            {
                bits = (uint)spare & 0xFFFFFF;
                hasSpare = false;
            }
            else
            {
                state += 0x9E3779B97F4A7C15UL;
                spare = Mix(state);
                bits = (uint)(spare >> 40);
                hasSpare = true;
            }

            return Math.Clamp(low + (width * (bits * (1f / (1 << 24)))), min, max);
        }
    }

    /// <summary>SplitMix64's finalizer: a well-mixed 64-bit hash of <paramref name="z"/>.</summary>
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
