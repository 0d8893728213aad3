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
/// <c>forge optimize MODEL -o OUT [--target portable|tensorrt|ort-cuda] [--passes a,b] [--report FILE.json|FILE.md] [--check] [--fp16|--to bf16
/// --keep-io-types --op-block-list +A,-B --node-block-list N]</c>: rewrite rules, folding and cleanups, then
/// optionally mixed precision; prints onnx-simplifier's op table; <c>--check</c> compares the result
/// with the original in ONNX Runtime and exits 5 beyond tolerance.
/// </summary>
internal static class OptimizeCommand
{
    public static Command Create(IOptimizeCheckRunner checks)
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
        var targetRuntime = new Option<string>("--target") { Description = "Runtime to prepare for: portable (standard ops), tensorrt (fails on non-standard ops), ort-cuda (ONNX Runtime CUDA contrib-op fusions).", DefaultValueFactory = _ => "portable" };
        targetRuntime.AcceptOnlyFromAmong([.. OptimizeTargets.Names]);
        var maxFold = new Option<string?>("--max-fold-bytes") { Description = "Constant folding never evaluates a node whose outputs exceed this size (default 64MiB; e.g. 16MiB, 1GiB)." };
        var nodeBlock = new Option<string?>("--node-block-list") { Description = "to-fp16: comma-separated node names kept in float32." };
        var device = new Option<string>("--device") { Description = "--check: run both models on cpu or cuda (ONNX Runtime's CUDA provider).", DefaultValueFactory = _ => "cpu" };
        var deviceId = new Option<int>("--device-id") { Description = "--check: the CUDA device.", DefaultValueFactory = _ => 0 };
        var ranges = new Option<string>("--activation-ranges") { Description = "to-fp16: run the float32 model once in ONNX Runtime and keep ops whose activations exceed the fp16 range in float32: auto (with --check or test_data_set_* beside the model), on, off.", DefaultValueFactory = _ => "auto" };
        ranges.AcceptOnlyFromAmong("auto", "on", "off");
        var command = new Command("optimize", "Rewrite what runtimes reject, fold constants and clean up the graph.") { model, output, passes, rules, report, check, iterations, validateEach, external, inputShapes, maxFold, fp16, to, keepIo, opBlock, nodeBlock, targetRuntime, device, deviceId, ranges };
        command.SetAction((parse, cancellationToken) =>
        {
            var input = parse.GetValue(model)!;
            var target = parse.GetValue(output)!;
            var reportPath = parse.GetValue(report);
            var checking = parse.GetValue(check);
            if (reportPath is not null)
            {
                OptimizeReportWriter.CheckPath(reportPath);
            }

            var checkDevice = parse.GetValue(device) switch
            {
                "cpu" => ExecutionDevice.Cpu,
                "cuda" or "gpu" => ExecutionDevice.Cuda,
                var other => throw new ForgeInputException($"--device {other}: expected cpu or cuda"),
            };
            if (!parse.GetValue(check) && (parse.GetResult(device) is { Implicit: false } || parse.GetResult(deviceId) is { Implicit: false }))
            {
                throw new ForgeInputException("--device and --device-id choose where --check runs; add --check");
            }

            var passList = SplitList(parse.GetValue(passes));
            var options = new OptimizeOptions
            {
                Passes = passList,
                Rules = SplitList(parse.GetValue(rules)),
                MaxIterations = parse.GetValue(iterations),
                ValidateEveryPass = parse.GetValue(validateEach),
                InputShapes = InputShapes(parse.GetValue(inputShapes)),
                Target = OptimizeTargets.Parse(parse.GetValue(targetRuntime)!),
                MaxFoldBytes = MaxFoldBytes(parse.GetValue(maxFold)),
                Fp16 = Fp16Spec(parse, parse.GetValue(fp16) || parse.GetValue(to) is not null || passList?.Contains("to-fp16") == true, to, keepIo, opBlock, nodeBlock),
            };
            if (parse.GetResult(ranges) is { Implicit: false } && options.Fp16 is null)
            {
                throw new ForgeInputException("--activation-ranges needs --fp16, --to or --passes ...,to-fp16");
            }

            var save = new SaveOptions { ExternalData = CliConventions.EnumValue<ExternalDataMode>(parse, external)!.Value };
            CheckedSaveResult? checkResult = null;
            var result = CommandProgress.Run("optimize", $"loading {input}", progress =>
            {
                using var loaded = OnnxReader.Load(input);

                // every file this run writes is resolved against every file it reads before any pass runs
                var plan = OutputPlan.Reading(loaded);
                plan.Model(target, save.ExternalData);
                if (reportPath is not null)
                {
                    plan.File(reportPath, "the report");
                }

                if (checking)
                {
                    plan.Model(CheckedOutput.RejectedPath(target), save.ExternalData);
                }

                if (options.Fp16 is { } half && MeasuresRanges(parse.GetValue(ranges)!, input, checking))
                {
                    // the float32 original, run once: values beyond the fp16 range keep their nodes in float32
                    var measured = ActivationRanges.Measure(input, new ActivationRangeOptions(), cancellationToken);
                    if (measured.NotMeasured is { } why)
                    {
                        Console.Error.WriteLine($"forge: activation ranges not measured ({why}); to-fp16 plans without them");
                    }

                    options = options with { Fp16 = half with { ActivationRanges = measured.Ranges } };
                }

                var optimized = Optimizer.Optimize(loaded, options with { Progress = progress.Passes() }, cancellationToken: cancellationToken) with { ModelPath = input, OutputPath = target };
                cancellationToken.ThrowIfCancellationRequested();
                var saving = save with { Progress = progress.Bytes(target, optimized.After.WeightBytes) };
                if (!checking)
                {
                    OnnxWriter.Save(loaded, target, saving);
                    return optimized;
                }

                // -o is written only once the check passed. A mixed-precision result is held to the fp16
                // acceptance figure (rel L2 1e-2 vs the float32 original); so are the fp16 outputs of an ort-cuda
                // model, whose fused kernels (flash attention, one-pass GroupNorm) round in another order than the
                // original's (tiny fp16 UNet on an H200: 2.4e-3 against the original run on the same GPU)
                var checkOptions = (options.Fp16 is not null ? new OptimizeCheckOptions { Fp32Tolerance = 1e-2, Fp16Tolerance = 1e-2 }
                    : options.Target == OptimizeTarget.OrtCuda ? new OptimizeCheckOptions { Fp16Tolerance = 1e-2 }
                    : new OptimizeCheckOptions()) with
                {
                    Device = checkDevice,
                    DeviceId = parse.GetValue(deviceId),
                };
                checkResult = CheckedOutput.Save(loaded, input, target, saving, checkOptions, checks, cancellationToken);
                return optimized with { OutputPath = checkResult.Saved.ModelPath };
            });

            Print(result);
            if (checkResult is not null)
            {
                Print(checkResult.Check);
                if (!checkResult.Passed)
                {
                    Console.Error.WriteLine($"forge: check failed; {target} not written, the rejected model is kept at {checkResult.Saved.ModelPath}");
                }
            }

            if (reportPath is not null)
            {
                OptimizeCheckReport.Write(result, checkResult?.Check, reportPath);
                CliConventions.Wrote("report", reportPath);
            }

            return Task.FromResult(checkResult is { Passed: false } ? ExitCode.OutOfTolerance : ExitCode.Ok);
        });
        return command;
    }

    /// <summary>auto measures when the inputs are known to be meaningful or the run pays for ONNX Runtime anyway: test data beside the model, or --check.</summary>
    private static bool MeasuresRanges(string mode, string modelPath, bool checking) => mode switch
    {
        "on" => true,
        "off" => false,
        _ => checking || Directory.EnumerateDirectories(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, "test_data_set_*").Any(),
    };

    private static long MaxFoldBytes(string? text) => text is null ? OnnxTrtForge.Core.Evaluation.OpEvaluatorRegistry.DefaultMaxOutputBytes
        : OnnxTrtForge.Pipelines.Spec.ByteSize.TryParse(text, out var size) && size!.Bytes >= 0 ? size.Bytes : throw new ForgeInputException($"--max-fold-bytes {text}: expected a size like 64MiB, 16M or 1048576");

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
        console.MarkupLine($"check: optimized vs {Markup.Escape(c.Reference)} on {Markup.Escape(c.Inputs)} ({Markup.Escape(c.Runtime)}, optimizations off)");
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
