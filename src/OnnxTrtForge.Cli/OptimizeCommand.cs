using System.CommandLine;
using System.Globalization;
using OnnxTrtForge.Core;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using OnnxTrtForge.Core.Passes.Fp16;
using OnnxTrtForge.Core.Reports;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Validation;
using Spectre.Console;

namespace OnnxTrtForge.Cli;

/// <summary>
/// <c>forge optimize MODEL -o OUT [--passes a,b] [--report FILE.json|FILE.md] [--check] [--fp16|--to bf16
/// --keep-io-types --op-block-list +A,-B --node-block-list N]</c>: rewrite rules, folding and cleanups, then
/// optionally mixed precision; prints onnx-simplifier's op table; <c>--check</c> compares the result
/// with the original in ONNX Runtime and exits 5 beyond tolerance.
/// </summary>
internal static class OptimizeCommand
{
    public static Command Create()
    {
        var model = CliConventions.MustBeFile(new Argument<string>("model") { Description = "The ONNX model to optimize (never modified)." });
        var output = CliConventions.MustBeFile(new Option<string>("--output", "-o") { Description = "Where to write the optimized model.", Required = true });
        var passes = new Option<string?>("--passes") { Description = "Comma-separated pass names to run once, in order (default: the full pipeline)." };
        var rules = new Option<string?>("--rules") { Description = "Comma-separated rewrite rule names (default: all)." };
        var report = CliConventions.ReportOption("Write a report with per-pass time and counts and the --check result");
        var check = new Option<bool>("--check") { Description = "Run original and optimized in ONNX Runtime (CPU) and compare; exit 5 beyond tolerance." };
        var iterations = new Option<int>("--max-iterations") { Description = "Most iterations of the fixed-point stage.", DefaultValueFactory = _ => 10 };
        var validateEach = new Option<bool>("--validate-each-pass") { Description = "Check the graph's structure after every pass (a failure names the pass)." };
        var external = CliConventions.EnumOption<ExternalDataMode>("--external-data", "Weights storage: auto (external above 2 GB), always, never.", ExternalDataMode.Auto);
        var fp16 = new Option<bool>("--fp16") { Description = "End with the to-fp16 mixed-precision pass (same as --to fp16)." };
        var to = CliConventions.EnumOption<HalfType>("--to", "End with the to-fp16 pass converting float32 to fp16 or bf16.");
        var keepIo = new Option<bool>("--keep-io-types") { Description = "to-fp16: graph inputs/outputs stay float32, Casts at the edges.", DefaultValueFactory = _ => true };
        var opBlock = new Option<string?>("--op-block-list") { Description = "to-fp16: ops kept in float32; 'A,B' replaces the default list, '+A,-B' edits it." };
        var inputShapes = new Option<string[]>("--input-shape") { Description = "Pin a dynamic input to a static shape, name:2x4x64x64 (repeatable), so its shape math folds.", AllowMultipleArgumentsPerToken = false };
        var nodeBlock = new Option<string?>("--node-block-list") { Description = "to-fp16: comma-separated node names kept in float32." };
        var command = new Command("optimize", "Rewrite what runtimes reject, fold constants and clean up the graph.") { model, output, passes, rules, report, check, iterations, validateEach, external, inputShapes, fp16, to, keepIo, opBlock, nodeBlock };
        command.SetAction((parse, cancellationToken) =>
        {
            var input = parse.GetValue(model)!;
            var target = parse.GetValue(output)!;
            if (Path.GetFullPath(input) == Path.GetFullPath(target))
            {
                throw new ForgeInputException($"{target}: output would overwrite the input model");
            }

            if (parse.GetValue(report) is { } requestedReport)
            {
                OptimizeReportWriter.CheckPath(requestedReport);
            }

            var passList = SplitList(parse.GetValue(passes));
            var options = new OptimizeOptions
            {
                Passes = passList,
                Rules = SplitList(parse.GetValue(rules)),
                MaxIterations = parse.GetValue(iterations),
                ValidateEveryPass = parse.GetValue(validateEach),
                InputShapes = InputShapes(parse.GetValue(inputShapes)),
                Fp16 = Fp16Spec(parse, parse.GetValue(fp16) || parse.GetValue(to) is not null || passList?.Contains("to-fp16") == true, to, keepIo, opBlock, nodeBlock),
            };
            var result = CommandProgress.Run("optimize", $"loading {input}", progress =>
            {
                using var loaded = OnnxReader.Load(input);
                var optimized = Optimizer.Optimize(loaded, options with { Progress = progress.Passes() }, cancellationToken: cancellationToken) with { ModelPath = input, OutputPath = target };
                cancellationToken.ThrowIfCancellationRequested();
                OnnxWriter.Save(loaded, target, new SaveOptions { ExternalData = CliConventions.EnumValue<ExternalDataMode>(parse, external)!.Value, Progress = progress.Bytes(target, optimized.After.WeightBytes) });
                return optimized;
            });

            Print(result);
            OptimizeCheckResult? checkResult = null;
            if (parse.GetValue(check))
            {
                // a mixed-precision result is held to the fp16 acceptance figure (rel L2 1e-2 vs the float32 original)
                var checkOptions = options.Fp16 is null ? null : new OptimizeCheckOptions { Fp32Tolerance = 1e-2, Fp16Tolerance = 1e-2 };
                checkResult = CommandProgress.Run("optimize", "check: original vs optimized in ONNX Runtime (CPU)", _ => OptimizeCheck.Run(input, target, checkOptions, cancellationToken));
                Print(checkResult);
            }

            if (parse.GetValue(report) is { } reportPath)
            {
                OptimizeCheckReport.Write(result, checkResult, reportPath);
                CliConventions.Wrote("report", reportPath);
            }

            return Task.FromResult(checkResult is { Passed: false } ? ExitCode.OutOfTolerance : ExitCode.Ok);
        });
        return command;
    }

    /// <summary>The to-fp16 options, or null when no conversion is asked for (then its options are an error).</summary>
    private static Dictionary<string, long[]>? InputShapes(string[]? specs)
    {
        if (specs is null || specs.Length == 0)
        {
            return null;
        }

        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var spec in specs)
        {
            var colon = spec.LastIndexOf(':');
            if (colon <= 0 || !ShapeText.TryParseDims(spec[(colon + 1)..], out var dims) || !shapes.TryAdd(spec[..colon], dims))
            {
                throw new ForgeInputException($"--input-shape {spec}: expected name:DIMS (dims like 2x4x64x64), each input once");
            }
        }

        return shapes;
    }

    private static Fp16Options? Fp16Spec(ParseResult parse, bool wanted, Option<string> to, Option<bool> keepIo, Option<string?> opBlock, Option<string?> nodeBlock)
    {
        var ops = parse.GetValue(opBlock);
        var nodes = SplitList(parse.GetValue(nodeBlock));
        if (!wanted)
        {
            return ops is not null || nodes is not null || parse.GetResult(keepIo) is { Implicit: false }
                ? throw new ForgeInputException("--keep-io-types, --op-block-list and --node-block-list need --fp16, --to or --passes ...,to-fp16")
                : null;
        }

        return new Fp16Options
        {
            Target = CliConventions.EnumValue<HalfType>(parse, to) ?? HalfType.Fp16,
            KeepIoTypes = parse.GetValue(keepIo),
            OpBlockList = ops is null ? Fp16Options.DefaultOpBlockList : Fp16Options.ParseOpList(ops),
            NodeBlockList = new HashSet<string>(nodes ?? [], StringComparer.Ordinal),
        };
    }

    private static string[]? SplitList(string? list) =>
        list is null ? null : list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static void Print(OptimizeReport r)
    {
        var console = AnsiConsole.Console;
        var table = new Table().Border(TableBorder.Rounded).AddColumn("op")
            .AddColumn(new TableColumn("original").RightAligned()).AddColumn(new TableColumn("optimized").RightAligned());
        foreach (var (op, before, after) in OptimizeReportWriter.CensusRows(r))
        {
            var cell = after == before ? N(after) : $"[green]{N(after)}[/]";
            table.AddRow(Markup.Escape(op), N(before), cell);
        }

        table.AddRow("[bold]nodes[/]", $"[bold]{N(r.Before.Nodes)}[/]", $"[bold]{N(r.After.Nodes)}[/]");
        table.AddRow("initializers", N(r.Before.Initializers), N(r.After.Initializers));
        table.AddRow("weight bytes", Format.Bytes(r.Before.WeightBytes), Format.Bytes(r.After.WeightBytes));
        console.Write(table);
        foreach (var note in r.Notes)
        {
            console.MarkupLine($"[yellow]note:[/] {Markup.Escape(note)}");
        }

        console.MarkupLine($"wrote {Markup.Escape(r.OutputPath ?? "")} in {Format.Number(r.TotalMilliseconds / 1000, "0.00")} s of passes ({r.Passes.Count} pass runs)");
    }

    private static void Print(OptimizeCheckResult c)
    {
        var console = AnsiConsole.Console;
        console.MarkupLine($"check: optimized vs {Markup.Escape(c.Reference)} on {Markup.Escape(c.Inputs)} (ONNX Runtime CPU, optimizations off)");
        var table = new Table().Border(TableBorder.Rounded).AddColumns("inputs", "output", "type", "rel L2", "max |diff|", "tolerance", "");
        foreach (var o in c.Outputs)
        {
            table.AddRow(Markup.Escape(o.DataSet), Markup.Escape(o.Output), o.ElementType, o.RelativeL2.ToString("0.###e+0", CultureInfo.InvariantCulture),
                o.MaxAbsDiff.ToString("0.###e+0", CultureInfo.InvariantCulture), o.Tolerance.ToString("0.#e+0", CultureInfo.InvariantCulture),
                o.Passed ? "[green]ok[/]" : o.NonFinite ? "[red]NaN/Inf[/]" : "[red]out of tolerance[/]");
        }

        console.Write(table);
        foreach (var note in c.Notes)
        {
            console.MarkupLine($"[yellow]note:[/] {Markup.Escape(note)}");
        }

        console.MarkupLine(c.Passed ? "[green]check passed[/]" : "[red]check failed[/]");
    }

    private static string N(long n) => n.ToString(CultureInfo.InvariantCulture);
}
