using System.CommandLine;
using System.CommandLine.Parsing;
using System.Runtime.InteropServices;
using OnnxTrtForge.Cli;
using OnnxTrtForge.Core;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Reports;
using OnnxTrtForge.Pipelines.Yaml;
using Spectre.Console;

CliConventions.SetUpConsole();
var verbose = new Option<bool>("--verbose") { Description = "Show details (stack traces, full logs) on failure.", Recursive = true };
var root = new RootCommand(
    "forge: ONNX → optimized ONNX → TensorRT engines, validated by a reference denoising loop.\n\nExit codes (every command):\n"
    + string.Join('\n', ExitCode.Table.Select(e => $"  {e.Code,3}  {e.Meaning}")));
root.Options.Add(verbose);

// ONNX Runtime aborts the process on some malformed models: forge runs each --check in a child process of its own
var checks = CheckCommand.Runner();
root.Subcommands.Add(InspectCommand.Create());
root.Subcommands.Add(ConvertCommand.Create());
root.Subcommands.Add(BuildCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(DenoiseCommand.Create());
root.Subcommands.Add(ValidateCommand.Create());
root.Subcommands.Add(OptimizeCommand.Create(checks));
root.Subcommands.Add(RunCommand.Create(checks));
root.Subcommands.Add(CheckCommand.Create());

var configuration = new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
if (args.Length == 0)
{
    // bare `forge`: what it can do, not an error
    return root.Parse(["--help"]).Invoke(configuration);
}

var commands = root.Subcommands.Where(c => !c.Hidden).Select(c => c.Name).ToList();
if (!args[0].StartsWith('-') && !root.Subcommands.Any(c => c.Name == args[0]))
{
    Console.Error.WriteLine($"forge: unknown command '{args[0]}'{SpecBinder.Suggest(args[0], commands)}; commands: {string.Join(", ", commands)} (forge --help)");
    return ExitCode.BadInput;
}

var parse = root.Parse(args);
if (parse.Errors.Count > 0 && !args.Contains("--help") && !args.Contains("-h"))
{
    foreach (var error in parse.Errors)
    {
        Console.Error.WriteLine($"forge: {error.Message}");
    }

    return ExitCode.BadInput;
}

// SIGINT (Ctrl+C) and SIGTERM cancel the token every command passes down; the command unwinds, leaves no partial
// output, and forge exits 130 or 143.
using var cancel = new CancellationTokenSource();
var signal = 0;
void Stop(PosixSignalContext context, int code)
{
    context.Cancel = true;
    Interlocked.CompareExchange(ref signal, code, 0);
    cancel.Cancel();
}

using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => Stop(c, ExitCode.Cancelled));
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => Stop(c, ExitCode.Terminated));

try
{
    var code = await parse.InvokeAsync(configuration, cancel.Token);
    return signal != 0 && code != ExitCode.Ok ? signal : code;
}
catch (OperationCanceledException) when (cancel.IsCancellationRequested)
{
    Console.Error.WriteLine(signal == ExitCode.Terminated ? "forge: terminated" : "forge: cancelled");
    return signal != 0 ? signal : ExitCode.Cancelled;
}
catch (ForgeException e)
{
    Console.Error.WriteLine($"forge: {e.Label}: {e.Message}");
    if (parse.GetValue(verbose))
    {
        Console.Error.WriteLine(e);
    }
    else if (e is OnnxTrtForge.TensorRt.TrtexecFailedException trtexec)
    {
        foreach (var line in trtexec.LogTail.TakeLast(5))
        {
            Console.Error.WriteLine("  " + line);
        }
    }

    return e.ExitCode;
}
catch (Exception e)
{
    Console.Error.WriteLine($"forge: unexpected error: {e.GetType().Name}: {e.Message}");
    if (parse.GetValue(verbose))
    {
        Console.Error.WriteLine(e);
    }

    return ExitCode.Unexpected;
}

namespace OnnxTrtForge.Cli
{
    /// <summary>The conventions every command shares: console set-up, lower-case enum options, report and file paths.</summary>
    internal static class CliConventions
    {
        /// <summary>Plain lines (no live display, no colour codes) when output is redirected or CI is set.</summary>
        public static bool Plain { get; } = Console.IsOutputRedirected || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"));

        /// <summary>In a log, tables are as wide as their content (up to 240 columns) instead of wrapping at 80.</summary>
        public static void SetUpConsole()
        {
            if (Plain)
            {
                AnsiConsole.Profile.Width = 240;
            }
        }

        /// <summary>An enum option spelled in lower-case kebab-case in help and parsing, with the list of values on a bad one.</summary>
        public static Option<string> EnumOption<T>(string name, string description, T? defaultValue = null)
            where T : struct, Enum
        {
            var names = Enum.GetValues<T>().Select(NameOf).ToList();
            var option = new Option<string>(name) { Description = description, HelpName = string.Join('|', names) };
            if (defaultValue is { } d)
            {
                option.DefaultValueFactory = _ => NameOf(d);
            }

            option.CompletionSources.Add(names.ToArray());
            option.Validators.Add(result =>
            {
                if (result.Tokens.Count > 0 && result.Tokens[^1].Value is var written && !names.Contains(written.ToLowerInvariant()))
                {
                    result.AddError($"{name} {written}: expected one of {string.Join(", ", names)}{SpecBinder.Suggest(written, names)}");
                }
            });
            return option;
        }

        /// <summary>The value of an <see cref="EnumOption"/>; null when it has no default and was not given.</summary>
        public static T? EnumValue<T>(ParseResult parse, Option<string> option)
            where T : struct, Enum =>
            parse.GetValue(option) is { } written ? Enum.GetValues<T>().First(v => NameOf(v).Equals(written, StringComparison.OrdinalIgnoreCase)) : null;

        public static string NameOf<T>(T value)
            where T : struct, Enum => SpecBinder.Kebab(value.ToString());

        /// <summary><c>--report R.json|R.md</c> with the one rule of every command: anything else is exit 2 before any work.</summary>
        public static Option<string?> ReportOption(string description)
        {
            var option = new Option<string?>("--report") { Description = description + " (.json or .md)" };
            option.Validators.Add(result =>
            {
                if (result.Tokens.Count > 0 && result.Tokens[^1].Value is var path)
                {
                    if (Path.GetExtension(path).ToLowerInvariant() is not (".json" or ".md"))
                    {
                        result.AddError($"--report {path}: a report is .json or .md");
                    }
                    else if (Directory.Exists(path))
                    {
                        result.AddError($"--report {path}: is a directory, expected a file");
                    }
                }
            });
            return option;
        }

        /// <summary>Refuses, at parse time, a path that names a directory where a file is read or written.</summary>
        public static T MustBeFile<T>(T symbol)
            where T : Symbol
        {
            void Check(SymbolResult result, IReadOnlyList<Token> tokens)
            {
                foreach (var token in tokens)
                {
                    if (Directory.Exists(token.Value))
                    {
                        result.AddError($"{token.Value}: is a directory, expected a file");
                    }
                }
            }

            switch (symbol)
            {
                case Argument argument:
                    argument.Validators.Add(r => Check(r, r.Tokens));
                    break;
                case Option option:
                    option.Validators.Add(r => Check(r, r.Tokens));
                    break;
            }

            return symbol;
        }

        /// <summary>Cuts <paramref name="text"/> to one console line less <paramref name="reserve"/> columns.</summary>
        public static string Fit(string text, int reserve = 0)
        {
            var width = Math.Max(20, AnsiConsole.Profile.Width - reserve - 4);
            var line = text.ReplaceLineEndings(" ");
            return line.Length <= width ? line : line[..(width - 1)] + "…";
        }

        /// <summary>"wrote PATH (SIZE)": every command says where its outputs went.</summary>
        public static void Wrote(string what, string path)
        {
            var size = File.Exists(path) ? $" ({Format.Bytes(new FileInfo(path).Length)})" : "";
            Console.Out.WriteLine($"wrote {what}: {Path.GetFullPath(path)}{size}");
        }
    }

    /// <summary>
    /// The live progress of a long command: one spinner line in a terminal (cut to the console's width, so it never
    /// wraps and leaves text behind), plain timestamped lines on stdout (as `forge run` writes them) when output is
    /// redirected or CI is set; stderr keeps the one-line errors alone.
    /// Libraries report through <see cref="IProgress{T}"/> records; this is where they become text.
    /// </summary>
    internal sealed class CommandProgress
    {
        private readonly string command;
        private readonly StatusContext? status;
        private readonly Lock gate = new();
        private long lastPlain;

        private CommandProgress(string command, StatusContext? status)
        {
            this.command = command;
            this.status = status;
        }

        public static T Run<T>(string command, string first, Func<CommandProgress, T> work)
        {
            if (CliConventions.Plain)
            {
                var plain = new CommandProgress(command, null);
                plain.Report(first);
                return work(plain);
            }

            return AnsiConsole.Status().Spinner(Spinner.Known.Dots).Start(Line(command, first), ctx => work(new CommandProgress(command, ctx)));
        }

        public static async Task<T> RunAsync<T>(string command, string first, Func<CommandProgress, Task<T>> work)
        {
            if (CliConventions.Plain)
            {
                var plain = new CommandProgress(command, null);
                plain.Report(first);
                return await work(plain);
            }

            return await AnsiConsole.Status().Spinner(Spinner.Known.Dots).StartAsync(Line(command, first), ctx => work(new CommandProgress(command, ctx)));
        }

        /// <summary>Shows <paramref name="message"/>; in plain mode a <paramref name="frequent"/> one is printed at most once a second.</summary>
        public void Report(string message, bool frequent = false)
        {
            lock (gate)
            {
                if (status is not null)
                {
                    status.Status(Line(command, message));
                    return;
                }

                var now = Environment.TickCount64;
                if (frequent && now - lastPlain < 1000)
                {
                    return;
                }

                lastPlain = now;
                Console.Out.WriteLine($"{DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture)} [{command}] {message}");
            }
        }

        /// <summary>Pass by pass: name, stage and iteration, nodes before → after, time.</summary>
        public IProgress<Core.Passes.PassRecord> Passes() => new Reporter<Core.Passes.PassRecord>(r =>
            Report($"pass {r.Pass} (stage {r.Stage + 1}, iteration {r.Iteration}): nodes {r.NodesBefore} → {r.NodesAfter}, {Format.Number(r.Milliseconds, "0")} ms", frequent: !r.Modified));

        /// <summary>Bytes written while saving <paramref name="path"/> (of <paramref name="total"/> weight bytes).</summary>
        public IProgress<long> Bytes(string path, long total) => new Reporter<long>(written =>
            Report($"writing {path}: {Format.Bytes(written)} of {Format.Bytes(total)} of weights", frequent: true));

        /// <summary>A denoising loop: step k/N and milliseconds per step.</summary>
        public IProgress<OnnxTrtForge.Validation.LoopProgress> Steps(string what) => new Reporter<OnnxTrtForge.Validation.LoopProgress>(p =>
            Report($"{what}: step {p.Step}/{p.Steps}, {Format.Number(p.MillisecondsPerStep, "0")} ms/step"));

        private static string Line(string command, string message) =>
            $"[bold]{command}[/] {Markup.Escape(CliConventions.Fit(message, command.Length + 4))}";

        /// <summary>Reports synchronously, on the reporting thread (unlike <see cref="Progress{T}"/>), so lines keep their order.</summary>
        private sealed class Reporter<T>(Action<T> report) : IProgress<T>
        {
            public void Report(T value) => report(value);
        }
    }
}
