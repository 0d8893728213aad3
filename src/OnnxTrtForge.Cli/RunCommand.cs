using System.CommandLine;
using System.Globalization;
using OnnxTrtForge.Core;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Pipelines;
using OnnxTrtForge.Pipelines.Running;
using Spectre.Console;

namespace OnnxTrtForge.Cli;

/// <summary>
/// <c>forge run PIPELINE.yaml [--only optimize,build,validate] [--dry-run] [--out DIR]</c>: validates the
/// whole pipeline first (every error with file:line:col, exit 2), then runs its stages into one artifact
/// folder and exits with the first failed gate's code. Live progress in a terminal; plain timestamped
/// lines when output is redirected or <c>CI</c> is set.
/// </summary>
internal static class RunCommand
{
    public static Command Create(OnnxTrtForge.Validation.IOptimizeCheckRunner checks)
    {
        var file = CliConventions.MustBeFile(new Argument<string>("pipeline") { Description = "The pipeline file (pipelines/NAME.yaml)." });
        var only = new Option<string?>("--only") { Description = "Comma-separated stages to run: optimize, build, validate (default: all the file has)." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Validate and print the resolved plan (absolute paths, configs merged, environment expanded); run nothing." };
        var output = new Option<string?>("--out") { Description = "Artifact folder (overrides reports.dir)." };
        var command = new Command("run", "Run a YAML pipeline: optimize → fp16 → build → validate, with reports for CI.") { file, only, dryRun, output };
        command.SetAction(async (parse, ct) =>
        {
            var stages = Stages(parse.GetValue(only));
            LoadedPipeline pipeline;
            try
            {
                pipeline = PipelineLoader.Load(parse.GetValue(file)!, new PipelineLoadOptions { Stages = stages, OutDirectory = parse.GetValue(output) });
            }
            catch (PipelineValidationException e)
            {
                PrintErrors(e.Errors);
                return e.ExitCode;
            }

            if (parse.GetValue(dryRun))
            {
                Console.Out.Write(PipelinePlan.Render(pipeline));
                return ExitCode.Ok;
            }

            var plain = CliConventions.Plain;
            var options = new PipelineRunOptions { CheckRunner = checks };
            var result = plain
                ? await PipelineRunner.RunAsync(pipeline, new PlainProgress(), options, ct)
                : await RunLiveAsync(pipeline, options, ct);
            PrintSummary(result, plain);
            return result.ExitCode;
        });
        return command;
    }

    private static HashSet<RunStage> Stages(string? only)
    {
        if (only is null)
        {
            return [RunStage.Optimize, RunStage.Build, RunStage.Validate];
        }

        var set = new HashSet<RunStage>();
        foreach (var name in only.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            set.Add(Enum.TryParse<RunStage>(name, ignoreCase: true, out var stage) && !int.TryParse(name, out _)
                ? stage
                : throw new ForgeInputException($"--only {only}: unknown stage '{name}' (stages: optimize, build, validate)"));
        }

        return set.Count > 0 ? set : throw new ForgeInputException("--only: name at least one stage (optimize, build, validate)");
    }

    private static void PrintErrors(IReadOnlyList<PipelineError> errors)
    {
        var github = Environment.GetEnvironmentVariable("GITHUB_ACTIONS") == "true";
        foreach (var error in errors)
        {
            var where = $"{Relative(error.Where.File)}:{error.Where.Line}:{error.Where.Column}";
            Console.Error.WriteLine($"forge: error: {where}: {error.Message}");
            if (github)
            {
                Console.Out.WriteLine($"::error file={Relative(error.Where.File)},line={error.Where.Line},col={error.Where.Column}::{error.Message}");
            }
        }

        Console.Error.WriteLine($"forge: {errors.Count} error{(errors.Count == 1 ? "" : "s")} in the pipeline; nothing was run");
    }

    private static string Relative(string path)
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, path);
        return relative.StartsWith("..", StringComparison.Ordinal) ? path : relative;
    }

    private static async Task<PipelineRunResult> RunLiveAsync(LoadedPipeline pipeline, PipelineRunOptions options, CancellationToken ct)
    {
        var console = AnsiConsole.Console;
        console.MarkupLine($"[bold]forge run[/] {Markup.Escape(pipeline.Name)} → {Markup.Escape(pipeline.OutDirectory)}");
        PipelineRunResult? result = null;
        await console.Status().Spinner(Spinner.Known.Dots).StartAsync("starting", async status =>
        {
            var live = new LiveProgress(console, status);
            result = await PipelineRunner.RunAsync(pipeline, live, options, ct);
        });
        return result!;
    }

    private static void PrintSummary(PipelineRunResult result, bool plain)
    {
        if (plain)
        {
            var github = Environment.GetEnvironmentVariable("GITHUB_ACTIONS") == "true";
            foreach (var g in result.Gates)
            {
                Console.Out.WriteLine($"{g.Status.ToString().ToUpperInvariant(),-7} {g.Name}: {g.Message}");
                if (github && g.Status == GateStatus.Failed)
                {
                    Console.Out.WriteLine($"::error file={Relative(result.File)},title=forge run {result.Pipeline}: {g.Name} (exit {g.ExitCode})::{g.Message}");
                }
            }

            Console.Out.WriteLine($"forge run {result.Pipeline}: {(result.Passed ? "passed" : $"failed (exit {result.ExitCode})")} in {result.Seconds.ToString("0.0", CultureInfo.InvariantCulture)} s; reports in {result.OutDirectory}");
            return;
        }

        var table = new Table().Border(TableBorder.Rounded).AddColumns("gate", "stage", "result", "details");
        foreach (var g in result.Gates)
        {
            var status = g.Status switch { GateStatus.Passed => "[green]pass[/]", GateStatus.Failed => $"[red]fail (exit {g.ExitCode})[/]", _ => "[grey]skipped[/]" };
            table.AddRow(Markup.Escape(g.Name), g.Stage.ToString().ToLowerInvariant(), status, Markup.Escape(g.Message));
        }

        var console = AnsiConsole.Console;
        console.Write(table);
        console.MarkupLine(result.Passed
            ? $"[green]passed[/] in {result.Seconds.ToString("0.0", CultureInfo.InvariantCulture)} s; reports in {Markup.Escape(result.OutDirectory)}"
            : $"[red]failed (exit {result.ExitCode})[/]; reports in {Markup.Escape(result.OutDirectory)}");
    }

    /// <summary>Timestamped lines, one per event, for logs and CI.</summary>
    private sealed class PlainProgress : IProgress<PipelineEvent>
    {
        private readonly Lock gate = new();

        public void Report(PipelineEvent e)
        {
            var what = e.Kind switch
            {
                PipelineEventKind.StageStarted => "started: " + e.Message,
                PipelineEventKind.StageFinished => (e.Passed == true ? "passed" : "FAILED") + $" in {e.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s: " + e.Message,
                PipelineEventKind.Note => "note: " + e.Message,
                _ => e.Fraction is { } f ? $"{(f * 100).ToString("0", CultureInfo.InvariantCulture)}% {e.Message}" : e.Message,
            };
            lock (gate)
            {
                Console.Out.WriteLine($"{DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)} [{e.Stage.ToString().ToLowerInvariant()}] {what}");
            }
        }
    }

    /// <summary>A spinner line with the stage, its latest step and elapsed time; finished stages stay as lines above it.</summary>
    private sealed class LiveProgress(IAnsiConsole console, StatusContext status) : IProgress<PipelineEvent>
    {
        private readonly Lock gate = new();

        public void Report(PipelineEvent e)
        {
            lock (gate)
            {
                var stage = e.Stage.ToString().ToLowerInvariant();
                var elapsed = e.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture);
                switch (e.Kind)
                {
                    case PipelineEventKind.StageStarted:
                        status.Status($"[bold]{stage}[/]: {Markup.Escape(CliConventions.Fit(e.Message, stage.Length + 6))}");
                        break;
                    case PipelineEventKind.StageFinished:
                        console.MarkupLine(e.Passed == true
                            ? $"[green]✓[/] [bold]{stage}[/] {elapsed} s  {Markup.Escape(e.Message)}"
                            : $"[red]✗[/] [bold]{stage}[/] {elapsed} s  {Markup.Escape(e.Message)}");
                        break;
                    case PipelineEventKind.Note:
                        console.MarkupLine($"  [yellow]note[/] {Markup.Escape(e.Message)}");
                        break;
                    default:
                        var bar = e.Fraction is { } f ? $"[[{new string('#', (int)(f * 20)).PadRight(20, '.')}]] " : "";
                        status.Status($"[bold]{stage}[/] {elapsed} s {bar}{Markup.Escape(CliConventions.Fit(e.Message, stage.Length + elapsed.Length + bar.Length + 8))}");
                        break;
                }
            }
        }
    }
}
