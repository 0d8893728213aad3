using System.Runtime.InteropServices;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// Merges initializers of one graph whose payloads are byte-equal with the same element type and
/// shape: candidates are grouped by type, shape and a hash, then compared byte for byte; uses of the
/// later ones move to the first. Initializers that are graph inputs or outputs stay distinct.
/// </summary>
public sealed class InitializerDeduplicationPass : IGraphPass
{
    /// <summary>Payloads up to this size are hashed whole; larger ones by samples (the full comparison decides).</summary>
    private const int FullHashLimit = 64 * 1024;

    public string Name => "dedup-initializers";

    public PassResult Run(Model model)
    {
        var scope = new GraphScope(model.Graph);
        var outputs = scope.OutputValues();
        long merged = 0, bytes = 0;
        foreach (var graph in scope.Graphs)
        {
            var inputs = graph.Inputs.ToHashSet();
            var groups = new Dictionary<(DataType, string, long, ulong), List<Value>>();
            foreach (var value in graph.Initializers.ToList())
            {
                var tensor = value.Initializer!;
                if (tensor.Strings is not null || inputs.Contains(value) || outputs.Contains(value))
                {
                    continue;
                }

                var key = (tensor.Type, string.Join(",", tensor.Dims), tensor.ByteLength, Hash(tensor.Data));
                if (!groups.TryGetValue(key, out var kept))
                {
                    groups[key] = [value];
                    continue;
                }

                var twin = kept.FirstOrDefault(k => k.Initializer!.Data.Span.SequenceEqual(tensor.Data.Span));
                if (twin is null)
                {
                    kept.Add(value);
                    continue;
                }

                scope.ReplaceAllUsesWith(value, twin);
                graph.RemoveInitializer(value);
                merged++;
                bytes += tensor.ByteLength;
            }
        }

        return new PassResult(merged > 0) { Counters = new Dictionary<string, long> { ["merged"] = merged, ["bytes-saved"] = bytes } };
    }

    /// <summary>FNV-style 64-bit hash over 8-byte words: whole payload when small, else head, tail and strided samples.</summary>
    internal static ulong Hash(TensorData data)
    {
        var span = data.Span;
        if (span.Length <= FullHashLimit)
        {
            return HashSpan(span, 14695981039346656037UL);
        }

        const int sample = 4096;
        var h = HashSpan(span[..sample], 14695981039346656037UL);
        h = HashSpan(span[^sample..], h);
        const int probes = 64;
        var stride = (span.Length - sample) / probes;
        for (var i = 1; i < probes; i++)
        {
            h = HashSpan(span.Slice(i * stride, 64), h);
        }

        return h;
    }

    private static ulong HashSpan(ReadOnlySpan<byte> span, ulong h)
    {
        const ulong prime = 1099511628211UL;
        var words = MemoryMarshal.Cast<byte, ulong>(span);
        foreach (var w in words)
        {
            h = (h ^ w) * prime;
            h ^= h >> 29;
        }

        for (var i = words.Length * 8; i < span.Length; i++)
        {
            h = (h ^ span[i]) * prime;
        }

        return h;
    }
}
