using System.CommandLine;
using System.Globalization;
using OnnxTrtForge.Core;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.TensorRt;
using OnnxTrtForge.Validation;
using Spectre.Console;

namespace OnnxTrtForge.Cli;

/// <summary>
/// <c>forge bench ENGINE.trt [--trtexec PATH] [--shape name:DIMS]... [--iterations N] [--report R.json|R.md]</c>:
/// times an engine with trtexec and prints min/median/mean/p90/p95/p99 of GPU compute and end-to-end latency, and throughput.
/// <c>forge bench MODEL.onnx [--baseline OTHER.onnx] [--device cpu|cuda] [--device-id N] [--warmup N] [--iterations N]
/// [--cuda-graph] [--shape name:DIMS]... [--report R.json|R.md]</c>: times ONNX models in ONNX Runtime with their I/O
/// resident on the device (<see cref="OrtBench"/>), candidate and baseline alternating, and prints their ratio.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var engine = CliConventions.MustBeFile(new Argument<string>("model") { Description = "The TensorRT engine, or the ONNX model (timed in ONNX Runtime), to time." });
        var trtexec = new Option<string?>("--trtexec") { Description = "The trtexec executable (default: trtexec on PATH)." };
        var trtVersion = new Option<string?>("--trt-version") { Description = "The TensorRT version (default: read from trtexec's banner)." };
        var shapes = new Option<string[]>("--shape") { Description = "An input's shape for dynamic engines: name:DIMS (dims like 2x4x64x64)." };
        var iterations = new Option<int>("--iterations") { Description = "Queries (runs of each model) to time.", DefaultValueFactory = _ => 100 };
        var warmUp = new Option<int>("--warmup") { Description = "Warm-up: ms for engines (default 200), untimed runs of each ONNX model (default 50).", DefaultValueFactory = _ => 200 };
        var baseline = new Option<string?>("--baseline") { Description = "ONNX: a second model timed in the same run, alternating; the ratio candidate/baseline is printed." };
        var device = new Option<string>("--device") { Description = "ONNX: cpu or cuda (ONNX Runtime's CUDA provider).", DefaultValueFactory = _ => "cpu" };
        var deviceId = new Option<int>("--device-id") { Description = "ONNX: the CUDA device.", DefaultValueFactory = _ => 0 };
        var cudaGraph = new Option<bool>("--cuda-graph") { Description = "ONNX on cuda: capture one CUDA graph and replay it (reported if ONNX Runtime refuses)." };
        var seed = new Option<ulong>("--seed") { Description = "ONNX: seed of the random inputs.", DefaultValueFactory = _ => 0UL };
        var profile = new Option<bool>("--profile") { Description = "Also export and show the per-layer profile (separate profiling run)." };
        var timeout = new Option<double?>("--timeout") { Description = "Stop trtexec after this many seconds." };
        var report = CliConventions.ReportOption("Write a benchmark report");
        var command = new Command("bench", "Time a TensorRT engine with trtexec, or an ONNX model in ONNX Runtime.") { engine, trtexec, trtVersion, shapes, iterations, warmUp, profile, timeout, report, baseline, device, deviceId, cudaGraph, seed };
        command.SetAction(async (parse, ct) =>
        {
            if (OrtBench.IsOnnxModel(parse.GetValue(engine)!))
            {
                foreach (var engineOnly in new Option[] { trtexec, trtVersion, profile, timeout })
                {
                    if (parse.GetResult(engineOnly) is { Implicit: false })
                    {
                        throw new ForgeInputException($"{engineOnly.Name}: applies to TensorRT engines, not to ONNX models");
                    }
                }

                var onnxReport = parse.GetValue(report);
                if (onnxReport is not null)
                {
                    OrtBench.CheckReportPath(onnxReport);
                }

                var onnxRequest = new OrtBenchRequest
                {
                    ModelPath = parse.GetValue(engine)!,
                    BaselinePath = parse.GetValue(baseline),
                    Runtime = new RuntimeOptions { Device = ParseDevice(parse.GetValue(device)!), DeviceId = parse.GetValue(deviceId) },
                    UseCudaGraph = parse.GetValue(cudaGraph),
                    Warmup = parse.GetResult(warmUp) is { Implicit: false } ? parse.GetValue(warmUp) : 50,
                    Iterations = parse.GetValue(iterations),
                    Shapes = OnnxShapes(parse.GetValue(shapes)),
                    Seed = parse.GetValue(seed),
                };
                var onnxResult = OrtBench.Run(onnxRequest, null, ct);
                Print(onnxResult);
                if (onnxReport is not null)
                {
                    OrtBench.WriteReport(onnxReport, onnxResult);
                }

                return ExitCode.Ok;
            }

            foreach (var onnxOnly in new Option[] { baseline, device, deviceId, cudaGraph, seed })
            {
                if (parse.GetResult(onnxOnly) is { Implicit: false })
                {
                    throw new ForgeInputException($"{onnxOnly.Name}: applies to ONNX models (timed in ONNX Runtime), not to TensorRT engines");
                }
            }

            var verbose = parse.GetValue<bool>("--verbose");
            TrtVersion? configured = null;
            if (parse.GetValue(trtVersion) is { } v)
            {
                configured = TrtVersion.TryParse(v, out var parsed) ? parsed : throw new ForgeInputException($"--trt-version {v}: expected a version like 10.8 or 10.8.0");
            }

            if (parse.GetValue(iterations) < 1)
            {
                throw new ForgeInputException("--iterations: must be at least 1");
            }

            var shapeList = (parse.GetValue(shapes) ?? []).Select(ShapeProfile.Parse).Select(p => (p.Name, p.Opt)).ToList();
            var options = new BenchOptions
            {
                Shapes = shapeList,
                Iterations = parse.GetValue(iterations),
                WarmUpMs = parse.GetValue(warmUp),
                ExportProfile = parse.GetValue(profile),
                Verbose = verbose,
            };
            var request = new BenchRequest(parse.GetValue(engine)!, options)
            {
                Timeout = parse.GetValue(timeout) is { } seconds ? (seconds > 0 ? TimeSpan.FromSeconds(seconds) : throw new ForgeInputException($"--timeout {seconds}: must be a positive number of seconds")) : null,
            };
            var reportPath = parse.GetValue(report);
            var tool = await TrtexecTool.DetectAsync(TrtexecTool.Locate(parse.GetValue(trtexec)), configured, ct);
            var result = await new EngineBench(tool).RunAsync(request, new PhasePrinter("bench"), ct);
            var summary = BenchReport.From(result);
            Print(summary, result, verbose);
            if (reportPath is not null)
            {
                EngineReportFile.Write(reportPath, summary, summary.ToMarkdown);
                CliConventions.Wrote("report", reportPath);
            }

            return EngineExitCodes.Of(result);
        });
        return command;
    }

    private static void Print(BenchReport report, BenchResult result, bool verbose)
    {
        if (result is BenchFailure failed)
        {
            Console.Error.WriteLine($"forge: benchmark failed ({BuildCommand.Kebab(failed.Reason.Kind)}): {failed.Reason.Message}" + (report.StandIn is null ? "" : $" [{report.StandIn}]"));
            Console.Error.WriteLine($"forge: log: {failed.LogPath}");
            if (verbose)
            {
                foreach (var line in failed.LogTail)
                {
                    Console.Error.WriteLine("  " + line);
                }
            }

            return;
        }

        var console = AnsiConsole.Console;
        if (report.StandIn is not null)
        {
            console.MarkupLine($"[yellow]{Markup.Escape(report.StandIn)}[/]: these figures do not measure TensorRT.");
        }

        var table = new Table().Border(TableBorder.Rounded).AddColumn(new TableColumn("ms").NoWrap());
        foreach (var c in new[] { "min", "median", "mean", "p90", "p95", "p99", "max" })
        {
            table.AddColumn(new TableColumn(c).RightAligned());
        }

        foreach (var r in report.Latency)
        {
            table.AddRow(r.Metric, N(r.Min), N(r.Median), N(r.Mean), N(r.P90), N(r.P95), N(r.P99), N(r.Max));
        }

        console.Write(table);
        console.MarkupLine(Markup.Escape($"throughput: {N(report.ThroughputQps)} qps over {report.Queries?.ToString(CultureInfo.InvariantCulture) ?? "?"} queries (figures from {report.Source}), TensorRT {report.TensorRtVersion}"));
        foreach (var w in report.Warnings)
        {
            console.MarkupLine("[yellow]warning:[/] " + Markup.Escape(w));
        }

        foreach (var layer in report.TopLayers)
        {
            console.MarkupLine(Markup.Escape($"  {layer.Percentage.ToString("0.0", CultureInfo.InvariantCulture),5}%  {N(layer.AverageMs)} ms  {layer.Name}"));
        }
    }

    private static ExecutionDevice ParseDevice(string text) => text switch
    {
        "cpu" => ExecutionDevice.Cpu,
        "cuda" or "gpu" => ExecutionDevice.Cuda,
        _ => throw new ForgeInputException($"--device {text}: expected cpu or cuda"),
    };

    private static Dictionary<string, long[]> OnnxShapes(string[]? specs)
    {
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var spec in specs ?? [])
        {
            var profile = ShapeProfile.Parse(spec);
            if (!profile.Min.SequenceEqual(profile.Max) || !shapes.TryAdd(profile.Name, [.. profile.Opt]))
            {
                throw new ForgeInputException($"--shape {spec}: an ONNX model is timed at one shape per input, name:DIMS, each input once");
            }
        }

        return shapes;
    }

    private static void Print(OrtBenchResult result)
    {
        var console = AnsiConsole.Console;
        var table = new Table().Border(TableBorder.Rounded).AddColumn(new TableColumn("model")).AddColumn(new TableColumn("runs").RightAligned().NoWrap());
        foreach (var c in new[] { "min", "median", "mean", "p90", "max" })
        {
            table.AddColumn(new TableColumn(c).RightAligned().NoWrap());
        }

        table.Caption("ms per synchronous run");

        foreach (var m in new[] { result.Candidate, result.Baseline }.OfType<OrtBenchModel>())
        {
            var s = m.Milliseconds;
            table.AddRow(Markup.Escape(Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(m.Path))) + "/" + Path.GetFileName(m.Path)), m.Iterations.ToString(CultureInfo.InvariantCulture), Ms(s.Min), Ms(s.Median), Ms(s.Mean), Ms(s.P90), Ms(s.Max));
        }

        console.Write(table);
        console.MarkupLine(Markup.Escape($"{result.Device}{(result.Candidate.CudaGraph ? ", cuda graph" : "")}, I/O bound on the device, {result.Warmup} warmup runs excluded{(result.Baseline is null ? "" : $", alternating blocks of {result.Block}")}"));
        foreach (var m in new[] { result.Candidate, result.Baseline }.OfType<OrtBenchModel>())
        {
            console.MarkupLine(Markup.Escape($"{m.Path}: {string.Join(", ", m.Inputs.Select(i => $"{i.Name} {i.ElementType}[{string.Join("x", i.Dims)}]"))}"));
            if (m.GraphNote is not null)
            {
                console.MarkupLine("[yellow]note:[/] " + Markup.Escape($"{m.Path}: {m.GraphNote}"));
            }
        }

        if (result.MedianRatio is { } ratio)
        {
            console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"candidate / baseline: median {ratio:0.###}, min {result.MinRatio:0.###} ({(ratio < 1 ? $"candidate {1 / ratio:0.##}× faster" : $"candidate {ratio:0.##}× slower")})")));
        }
    }

    private static string Ms(double? v) => v is { } x ? x.ToString(x < 1 ? "0.000" : x < 100 ? "0.00" : "0.0", CultureInfo.InvariantCulture) : "–";

    private static string N(double? v) => v is { } x ? x.ToString("0.###", CultureInfo.InvariantCulture) : "–";
}
