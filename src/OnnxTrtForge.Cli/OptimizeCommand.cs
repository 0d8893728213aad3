using System.CommandLine;
using System.Globalization;
using OnnxTrtForge.Core;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using OnnxTrtForge.Core.Reports;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Validation;
using Spectre.Console;

namespace OnnxTrtForge.Cli;

/// <summary>
/// <c>forge optimize MODEL -o OUT [--passes a,b] [--report FILE.json|FILE.md] [--check]</c>: rewrite
/// rules, folding and cleanups; prints onnx-simplifier's op table; <c>--check</c> compares the result
/// with the original in ONNX Runtime and exits 5 beyond tolerance.
/// </summary>
internal static class OptimizeCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "The ONNX model to optimize (never modified)." };
        var output = new Option<string>("--output", "-o") { Description = "Where to write the optimized model.", Required = true };
        var passes = new Option<string?>("--passes") { Description = "Comma-separated pass names to run once, in order (default: the full pipeline)." };
        var rules = new Option<string?>("--rules") { Description = "Comma-separated rewrite rule names (default: all)." };
        var report = new Option<string?>("--report") { Description = "Write a report with per-pass time and counts (.json or .md)." };
        var check = new Option<bool>("--check") { Description = "Run original and optimized in ONNX Runtime (CPU) and compare; exit 5 beyond tolerance." };
        var iterations = new Option<int>("--max-iterations") { Description = "Most iterations of the fixed-point stage.", DefaultValueFactory = _ => 10 };
        var external = new Option<ExternalDataMode>("--external-data") { Description = "Weights storage: auto (external above 2 GB), always, never.", DefaultValueFactory = _ => ExternalDataMode.Auto };
        var command = new Command("optimize", "Rewrite what runtimes reject, fold constants and clean up the graph.") { model, output, passes, rules, report, check, iterations, external };
        command.SetAction((parse, cancellationToken) =>
        {
            var input = parse.GetValue(model)!;
            var target = parse.GetValue(output)!;
            if (Path.GetFullPath(input) == Path.GetFullPath(target))
            {
                throw new ForgeInputException($"{target}: output would overwrite the input model");
            }

            var options = new OptimizeOptions
            {
                Passes = SplitList(parse.GetValue(passes)),
                Rules = SplitList(parse.GetValue(rules)),
                MaxIterations = parse.GetValue(iterations),
            };
            OptimizeReport result;
            using (var loaded = OnnxReader.Load(input))
            {
                result = Optimizer.Optimize(loaded, options, cancellationToken: cancellationToken) with { ModelPath = input, OutputPath = target };
                cancellationToken.ThrowIfCancellationRequested();
                OnnxWriter.Save(loaded, target, new SaveOptions { ExternalData = parse.GetValue(external) });
            }

            Print(result);
            if (parse.GetValue(report) is { } reportPath)
            {
                OptimizeReportWriter.Write(result, reportPath);
            }

            if (!parse.GetValue(check))
            {
                return Task.FromResult(ExitCode.Ok);
            }

            var checkResult = OptimizeCheck.Run(input, target, cancellationToken: cancellationToken);
            Print(checkResult);
            return Task.FromResult(checkResult.Passed ? ExitCode.Ok : ExitCode.OutOfTolerance);
        });
        return command;
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
