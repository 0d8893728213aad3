using System.Diagnostics;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Validation;

namespace OnnxTrtForge.Benchmarks;

/// <summary>
/// <c>forge-bench check MODEL.onnx [--run]</c>: a rebuilt model is valid when forge loads it and ONNX
/// Runtime (CPU) creates a session on it; <c>--run</c> also predicts noise once (batch 2, the
/// signature's sizes, dynamic axes at 64×64 latents and 77 tokens) and counts non-finite outputs.
/// </summary>
internal static class FullSizeCheck
{
    public static int Run(string model, bool predict, TextWriter output)
    {
        var clock = Stopwatch.StartNew();
        using (var loaded = OnnxReader.Load(model))
        {
            output.WriteLine($"forge loads {model}: {loaded.Graph.Nodes.Count} nodes, {loaded.Graph.Initializers.Sum(v => v.Initializer!.ByteLength) / 1e9:0.000} GB of initializers, {clock.Elapsed.TotalSeconds:0.0} s");
        }

        var signature = UnetSignature.FromModelFile(model);
        clock.Restart();
        using var predictor = new OnnxNoisePredictor(model, signature, new RuntimeOptions { Optimize = false });
        output.WriteLine($"onnxruntime (cpu) session created in {clock.Elapsed.TotalSeconds:0.0} s; peak RSS {PeakRssMb()} MB");
        if (!predict)
        {
            return 0;
        }

        var sampleDims = Resolve(signature.Sample.Dims, [2, 4, 64, 64]);
        var embeddingDims = Resolve(signature.Embeddings.Dims, [2, 77, 768]);
        var random = new Random(0);
        var sample = Enumerable.Range(0, (int)sampleDims.Aggregate(1L, (a, d) => a * d)).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var embeddings = Enumerable.Range(0, (int)embeddingDims.Aggregate(1L, (a, d) => a * d)).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var noise = new float[sample.Length];
        clock.Restart();
        predictor.PredictAsync(sample, sampleDims, 981, embeddings, embeddingDims, noise, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        var bad = noise.Count(v => !float.IsFinite(v));
        var rms = Math.Sqrt(noise.Where(float.IsFinite).Select(v => (double)v * v).DefaultIfEmpty().Average());
        output.WriteLine($"one prediction, sample [{string.Join(",", sampleDims)}]: {clock.Elapsed.TotalSeconds:0.0} s, {bad} non-finite of {noise.Length}, rms {rms:G4}; peak RSS {PeakRssMb()} MB");
        return bad == 0 ? 0 : 5;
    }

    private static long[] Resolve(long[] dims, long[] fallback) =>
        dims.Select((d, i) => d > 0 ? d : fallback[Math.Min(i, fallback.Length - 1)]).ToArray();

    private static long PeakRssMb() =>
        File.ReadLines("/proc/self/status").Where(l => l.StartsWith("VmHWM:", StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024).FirstOrDefault();
}
