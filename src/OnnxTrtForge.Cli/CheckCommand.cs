using System.CommandLine;
using System.Reflection;
using OnnxTrtForge.Validation;

namespace OnnxTrtForge.Cli;

/// <summary>
/// <c>forge __check REQUEST.json</c> (hidden): the child process of <see cref="ChildProcessCheckRunner"/>. It runs one
/// <c>--check</c> in ONNX Runtime, reports each phase on stderr and writes its answer to the file the request names
/// (<see cref="CheckProcess"/>), so that ONNX Runtime aborting on a malformed model ends this process, not forge.
/// </summary>
internal static class CheckCommand
{
    /// <summary>
    /// Test seam, read only here: <c>FORGE_CHECK_FAIL_FAST=PHASE</c> (e.g. <c>loading-original</c>,
    /// <c>running-optimized</c>) makes the check process die by <see cref="Environment.FailFast(string)"/> (SIGABRT) as that
    /// phase begins, as ONNX Runtime does on the models it aborts on, so that tests can drive the parent's mapping.
    /// </summary>
    public const string FailFastVariable = "FORGE_CHECK_FAIL_FAST";

    public static Command Create()
    {
        var request = new Argument<string>("request") { Description = "The check request (JSON)." };
        var command = new Command(CheckProcess.CommandName, "Run one --check in this process (forge's own child process).") { request };
        command.Hidden = true;
        command.SetAction((parse, cancellationToken) =>
        {
            var failIn = Environment.GetEnvironmentVariable(FailFastVariable);
            var phases = new PhaseLines(failIn);
            return Task.FromResult(CheckProcess.Serve(parse.GetValue(request)!, phases, cancellationToken));
        });
        return command;
    }

    /// <summary>
    /// Where forge's checks run: in a child process (this executable again) when this process is the forge
    /// executable (the apphost, or <c>dotnet forge.dll</c> as the .NET tool and the tests start it); in process
    /// when forge's code is hosted by anything else.
    /// </summary>
    public static IOptimizeCheckRunner Runner()
    {
        var path = Environment.ProcessPath;
        if (path is null || Assembly.GetEntryAssembly()?.GetName().Name != "forge")
        {
            return InProcessCheckRunner.Instance;
        }

        var host = Path.GetFileNameWithoutExtension(path);
        var dll = Path.Combine(AppContext.BaseDirectory, "forge.dll");
        return host switch
        {
            "forge" => new ChildProcessCheckRunner(path, []),
            "dotnet" when File.Exists(dll) => new ChildProcessCheckRunner(path, [dll]),
            _ => InProcessCheckRunner.Instance,
        };
    }

    /// <summary>One line per phase on stderr, flushed before ONNX Runtime starts the step.</summary>
    private sealed class PhaseLines(string? failIn) : IProgress<CheckPhase>
    {
        public void Report(CheckPhase value)
        {
            Console.Error.WriteLine(CheckProcess.PhaseLine(value));
            Console.Error.Flush();
            if (failIn == value.Name())
            {
                Environment.FailFast($"{FailFastVariable}={failIn}: the test seam aborts the check process");
            }
        }
    }
}
