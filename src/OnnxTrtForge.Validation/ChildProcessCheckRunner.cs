using System.Diagnostics;
using System.Text.Json;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Validation;

/// <summary>
/// Runs each check in a child process, <c>PROGRAM [ARGS] __check REQUEST.json</c> (the forge executable itself, see
/// <see cref="CheckProcess"/>), so that ONNX Runtime aborting on a malformed model ends the child, not forge.
/// A child that answers gives back its result, or its expected failure rethrown as the same exception type with the
/// same message. A child that dies without answering is blamed by the last <see cref="CheckPhase"/> it reported:
/// on the original (or its rewritten reference) it is bad input (exit 2), on the optimized model a failed pass
/// (exit 3), with the signal and the child's last stderr line. Cancelling kills the child.
/// </summary>
public sealed class ChildProcessCheckRunner : IOptimizeCheckRunner
{
    private readonly string program;
    private readonly IReadOnlyList<string> arguments;

    /// <param name="program">The forge executable (apphost), or <c>dotnet</c>.</param>
    /// <param name="arguments">What comes before the hidden command: nothing for the apphost, <c>forge.dll</c> for dotnet.</param>
    public ChildProcessCheckRunner(string program, IReadOnlyList<string> arguments)
    {
        this.program = program;
        this.arguments = arguments;
    }

    public OptimizeCheckResult Run(string originalPath, string optimizedPath, OptimizeCheckOptions options, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var folder = Directory.CreateTempSubdirectory("forge-check-").FullName;
        try
        {
            var requestPath = Path.Combine(folder, "request.json");
            var responsePath = Path.Combine(folder, "response.json");
            File.WriteAllText(requestPath, JsonSerializer.Serialize(new CheckRequest(originalPath, optimizedPath, options, responsePath), CheckProcessJson.Default.CheckRequest));
            var (exitCode, phase, lastLine) = RunChild(requestPath, folder, cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            if (File.Exists(responsePath) && CheckProcess.Deserialize(File.ReadAllText(responsePath)) is { } response)
            {
                return response.Result ?? throw CheckProcess.Rethrow(response.Error ?? new CheckError("empty response", exitCode, "the check process answered neither a result nor an error"));
            }

            throw Died(exitCode, phase, lastLine, originalPath, optimizedPath);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>What a child that exited without an answer means, from its exit code (128 + N: killed by signal N) and its last phase.</summary>
    internal static Exception Died(int exitCode, CheckPhase? phase, string? lastLine, string originalPath, string optimizedPath)
    {
        if (exitCode is Core.ExitCode.Cancelled or Core.ExitCode.Terminated)
        {
            return new OperationCanceledException($"the check process was interrupted (exit {exitCode})");
        }

        var how = exitCode is > 128 and < 128 + 65 ? $"ONNX Runtime aborted (signal {exitCode - 128})" : $"the check process exited {exitCode} without a result";
        var tail = string.IsNullOrWhiteSpace(lastLine) ? "" : ": " + lastLine.Trim();
        if (phase is not { } p)
        {
            return new InvalidOperationException($"{how} before it started the check of {optimizedPath}{tail}");
        }

        var message = $"{how} {p.Describe(originalPath, optimizedPath)}{tail}";
        return p.IsOriginal() ? new ForgeInputException(message) : new PassFailedException(message);
    }

    private (int ExitCode, CheckPhase? Phase, string? LastLine) RunChild(string requestPath, string folder, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };

        // the child's temporary files (the rewritten reference) go into this request's folder, which the parent
        // deletes: a child that dies cannot clean up after itself
        start.Environment["TMPDIR"] = folder;
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.ArgumentList.Add(CheckProcess.CommandName);
        start.ArgumentList.Add(requestPath);
        var gate = new Lock();
        CheckPhase? phase = null;
        string? lastLine = null;
        using var process = new Process { StartInfo = start };
        process.ErrorDataReceived += (_, e) =>
        {
            if (string.IsNullOrWhiteSpace(e.Data))
            {
                return;
            }

            lock (gate)
            {
                if (CheckProcess.TryParsePhaseLine(e.Data, out var reported))
                {
                    phase = reported;
                }
                else if (!e.Data.TrimStart().StartsWith("at ", StringComparison.Ordinal))
                {
                    // the last line that says something: .NET's stack frames after a fail-fast message are left out
                    lastLine = e.Data;
                }
            }
        };

        // the child writes nothing on stdout; read it anyway so that a chatty native library never blocks on a full pipe
        process.OutputDataReceived += (_, _) => { };
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        using (cancellationToken.Register(() => Kill(process)))
        {
            process.WaitForExit();
        }

        lock (gate)
        {
            return (process.ExitCode, phase, lastLine);
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }
}
