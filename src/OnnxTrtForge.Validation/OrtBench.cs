using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.ML.OnnxRuntime;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Reports;
using OnnxTrtForge.TensorRt;

namespace OnnxTrtForge.Validation;

/// <summary>A <c>forge bench MODEL.onnx</c> job.</summary>
public sealed record OrtBenchRequest
{
    public required string ModelPath { get; init; }

    /// <summary>A second model timed in the same run, alternating with the candidate.</summary>
    public string? BaselinePath { get; init; }

    /// <summary>Device and provider options; <see cref="RuntimeOptions.CudaGraph"/> is ignored, <see cref="UseCudaGraph"/> asks.</summary>
    public RuntimeOptions Runtime { get; init; } = new();

    /// <summary>Capture a CUDA graph (CUDA only): the provider option <c>enable_cuda_graph=1</c> over fixed bindings.</summary>
    public bool UseCudaGraph { get; init; }

    /// <summary>Untimed runs of each model before the measured ones (cuDNN autotuning, arena growth, graph capture).</summary>
    public int Warmup { get; init; } = 50;

    /// <summary>Timed runs of each model.</summary>
    public int Iterations { get; init; } = 100;

    /// <summary>Runs of one model before switching to the other, so drift hits both alike.</summary>
    public int Block { get; init; } = 10;

    /// <summary>Input shapes given by the user (name → dims); they fix the symbolic dims they name for every input.</summary>
    public IReadOnlyDictionary<string, long[]> Shapes { get; init; } = new Dictionary<string, long[]>();

    public ulong Seed { get; init; }
}

/// <summary>A bound input: its name, element type and the shape it was run with.</summary>
public sealed record BenchInput(string Name, string ElementType, long[] Dims);

/// <summary>One model's figures: milliseconds per synchronous run, warmup excluded.</summary>
public sealed record OrtBenchModel(string Path, string Runtime, bool CudaGraph, string? GraphNote, IReadOnlyList<BenchInput> Inputs, int Iterations, LatencyStats Milliseconds);

/// <summary>The outcome of <c>forge bench MODEL.onnx</c>.</summary>
public sealed record OrtBenchResult(OrtBenchModel Candidate, OrtBenchModel? Baseline, string Device, int Warmup, int Block)
{
    /// <summary>Candidate median over baseline median (below 1: the candidate is faster); null without a baseline.</summary>
    public double? MedianRatio => Baseline is null ? null : Candidate.Milliseconds.Median / Baseline.Milliseconds.Median;

    /// <summary>Candidate min over baseline min.</summary>
    public double? MinRatio => Baseline is null ? null : Candidate.Milliseconds.Min / Baseline.Milliseconds.Min;
}

/// <summary>
/// Times ONNX models in ONNX Runtime the way a serving loop runs them: inputs and outputs resident on the device behind an
/// <see cref="OrtIoBinding"/> (filled once with seeded data), warmup runs excluded, a <see cref="Stopwatch"/> around each
/// synchronous run. A baseline is opened before anything is timed, and the two are measured in alternating blocks (the
/// model that goes first alternates too), so clock, thermal and allocator drift hits both; the ratio compares medians.
/// </summary>
public static class OrtBench
{
    public static OrtBenchResult Run(OrtBenchRequest request, IProgress<string>? progress = null, CancellationToken ct = default)
    {
        if (request.Iterations < 1 || request.Warmup < 0 || request.Block < 1)
        {
            throw new ForgeInputException("bench: --iterations must be at least 1 and --warmup at least 0");
        }

        if (request.UseCudaGraph && request.Runtime.Device != ExecutionDevice.Cuda)
        {
            throw new ForgeInputException("--cuda-graph needs --device cuda");
        }

        var paths = request.BaselinePath is null ? new[] { request.ModelPath } : [request.ModelPath, request.BaselinePath];
                var runtime = request.Runtime with { CudaGraph = request.UseCudaGraph };
        var subjects = new List<Subject>();
        try
        {
            var declared = paths.Select(p => (Io: ModelIo.Read(p, out var unet), Unet: unet)).ToList();
            var ios = declared.Select(d => d.Io).ToList();
            var unknown = request.Shapes.Keys.FirstOrDefault(name => ios.All(io => io.Inputs.All(i => i.Name != name)));
            if (unknown is not null)
            {
                throw new ForgeInputException($"--shape {unknown}: no such input in {string.Join(" or ", paths)} (inputs: {string.Join(", ", ios.SelectMany(io => io.Inputs).Select(i => i.Name).Distinct())})");
            }

            for (var i = 0; i < paths.Length; i++)
            {
                progress?.Report($"opening {paths[i]}");
                subjects.Add(Subject.Open(paths[i], declared[i].Io, declared[i].Unet, runtime, request));
            }

            foreach (var s in subjects)
            {
                progress?.Report($"warming up {s.Path} ({request.Warmup} runs)");
                for (var i = 0; i < request.Warmup; i++)
                {
                    ct.ThrowIfCancellationRequested();
                    s.Session.Run();
                }
            }

            progress?.Report($"timing {request.Iterations} runs{(subjects.Count > 1 ? " of each, alternating" : "")}");
            for (var round = 0; subjects.Any(s => s.Samples.Count < request.Iterations); round++)
            {
                var order = round % 2 == 0 ? subjects : Enumerable.Reverse(subjects);
                foreach (var s in order)
                {
                    var n = Math.Min(request.Block, request.Iterations - s.Samples.Count);
                    for (var i = 0; i < n; i++)
                    {
                        ct.ThrowIfCancellationRequested();
                        var began = Stopwatch.GetTimestamp();
                        s.Session.Run();
                        s.Samples.Add(Stopwatch.GetElapsedTime(began).TotalMilliseconds);
                    }
                }
            }

            var models = subjects.Select(s => s.Result()).ToList();
            return new OrtBenchResult(models[0], models.Count > 1 ? models[1] : null, runtime.Describe(), request.Warmup, request.Block);
        }
        finally
        {
            foreach (var s in subjects)
            {
                s.Dispose();
            }
        }
    }

    /// <summary>True for files to bench in ONNX Runtime: an .onnx name, or an ONNX ModelProto (it opens with ir_version, field 1).</summary>
    public static bool IsOnnxModel(string path)
    {
        if (Path.GetExtension(path).Equals(".onnx", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (ValidationRequest.IsEngine(path) || !File.Exists(path))
        {
            return false;
        }

        using var file = File.OpenRead(path);
        Span<byte> head = stackalloc byte[2];
        return file.Read(head) == 2 && head[0] == 0x08 && head[1] is > 0 and < 0x80;
    }

    /// <summary>Refuses a report path that is neither .json nor .md before any work is done.</summary>
    public static void CheckReportPath(string path)
    {
        if (Path.GetExtension(path).ToLowerInvariant() is not (".json" or ".md"))
        {
            throw new ForgeInputException($"--report {path}: use a .json or .md file");
        }
    }

    public static void WriteReport(string path, OrtBenchResult result)
    {
        CheckReportPath(path);
        var text = Path.GetExtension(path).Equals(".json", StringComparison.OrdinalIgnoreCase)
            ? ReportJson.Serialize(new OrtBenchReportDocument("onnxruntime-bench", result.MedianRatio, result.MinRatio, result), ValidationJson.Reports.OrtBenchReportDocument)
            : ToMarkdown(result);
        AtomicFile.WriteAllText(path, text);
    }

    public static string ToMarkdown(OrtBenchResult r)
    {
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine("# forge bench (ONNX Runtime)");
        md.AppendLine();
        md.AppendLine(c, $"{r.Device}, I/O bound on the device, {r.Warmup} warmup runs excluded, {(r.Baseline is null ? "" : $"alternating blocks of {r.Block}, ")}ms per synchronous run.");
        md.AppendLine();
        md.AppendLine("| model | runs | min | median | mean | p90 | max | cuda graph |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---|");
        foreach (var m in new[] { r.Candidate, r.Baseline }.OfType<OrtBenchModel>())
        {
            var s = m.Milliseconds;
            md.AppendLine(c, $"| {m.Path} | {m.Iterations} | {s.Min:0.###} | {s.Median:0.###} | {s.Mean:0.###} | {s.P90:0.###} | {s.Max:0.###} | {(m.CudaGraph ? "yes" : m.GraphNote ?? "no")} |");
        }

        if (r.MedianRatio is { } ratio)
        {
            md.AppendLine();
            md.AppendLine(c, $"candidate / baseline: median {ratio:0.###}, min {r.MinRatio:0.###}");
        }

        md.AppendLine();
        foreach (var m in new[] { r.Candidate, r.Baseline }.OfType<OrtBenchModel>())
        {
            md.AppendLine(c, $"- {m.Path} inputs: {string.Join(", ", m.Inputs.Select(i => $"{i.Name} {i.ElementType}[{string.Join("x", i.Dims)}]"))}");
        }

        return md.ToString();
    }

    /// <summary>One model under test: its bound session and its samples.</summary>
    private sealed class Subject : IDisposable
    {
        private Subject(string path, BoundSession session, IReadOnlyList<BenchInput> inputs)
        {
            Path = path;
            Session = session;
            Inputs = inputs;
        }

        public string Path { get; }

        public BoundSession Session { get; }

        public IReadOnlyList<BenchInput> Inputs { get; }

        public List<double> Samples { get; } = [];

        public static Subject Open(string path, ModelIo io, UnetSignature? unet, RuntimeOptions runtime, OrtBenchRequest request)
        {
            var shapes = BenchShapes.Resolve(path, io, unet, request.Shapes);
            var outputs = BenchShapes.KnownOutputs(io, shapes, unet);
            var session = new BoundSession(path, runtime, shapes, outputs, request.UseCudaGraph);
            try
            {
                var inputs = new List<BenchInput>();
                foreach (var name in session.InputNames)
                {
                    var type = session.InputType(name);
                    var dims = shapes[name];
                    session.Upload(name, BenchShapes.SeededData(name, type, dims, unet is not null && name == unet.Timestep.Name, request.Seed));
                    inputs.Add(new BenchInput(name, type.ToString().ToLowerInvariant(), dims));
                }

                return new Subject(path, session, inputs);
            }
            catch
            {
                session.Dispose();
                throw;
            }
        }

        public OrtBenchModel Result() =>
            new(Path, Session.Description, Session.CudaGraph, Session.GraphNote, Inputs, Samples.Count, LatencyStats.FromSamples(Samples)!);

        public void Dispose() => Session.Dispose();
    }
}
