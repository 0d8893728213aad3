using System.CommandLine;
using System.Globalization;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.TensorRt;
using Spectre.Console;

namespace OnnxTrtForge.Cli;

/// <summary>
/// <c>forge bench ENGINE.trt [--trtexec PATH] [--shape name:DIMS]... [--iterations N] [--report R.json|R.md]</c>:
/// times an engine with trtexec and prints min/median/mean/p90/p95/p99 of GPU compute and end-to-end latency, and throughput.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var engine = CliConventions.MustBeFile(new Argument<string>("engine") { Description = "The TensorRT engine to time." });
        var trtexec = new Option<string?>("--trtexec") { Description = "The trtexec executable (default: trtexec on PATH)." };
        var trtVersion = new Option<string?>("--trt-version") { Description = "The TensorRT version (default: read from trtexec's banner)." };
        var shapes = new Option<string[]>("--shape") { Description = "An input's shape for dynamic engines: name:DIMS (dims like 2x4x64x64)." };
        var iterations = new Option<int>("--iterations") { Description = "Queries to time.", DefaultValueFactory = _ => 100 };
        var warmUp = new Option<int>("--warmup") { Description = "Warm-up time in ms.", DefaultValueFactory = _ => 200 };
        var profile = new Option<bool>("--profile") { Description = "Also export and show the per-layer profile (separate profiling run)." };
        var timeout = new Option<double?>("--timeout") { Description = "Stop trtexec after this many seconds." };
        var report = CliConventions.ReportOption("Write a benchmark report");
        var command = new Command("bench", "Time a TensorRT engine with trtexec.") { engine, trtexec, trtVersion, shapes, iterations, warmUp, profile, timeout, report };
        command.SetAction(async (parse, ct) =>
        {
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

    private static string N(double? v) => v is { } x ? x.ToString("0.###", CultureInfo.InvariantCulture) : "–";
}
