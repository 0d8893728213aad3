using CliWrap;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.TensorRt;

/// <summary>A located trtexec: its path, the TensorRT version it reports, and whether it is a stand-in (test double).</summary>
public sealed record TrtexecTool(string Path, TrtVersion Version, bool IsStandIn)
{
    public const string StandInNotice = "stand-in (test double), not a real TensorRT engine";

    /// <summary>An explicit path, or <c>trtexec</c> on PATH; a missing one is a one-line input error.</summary>
    public static string Locate(string? explicitPath)
    {
        if (!string.IsNullOrEmpty(explicitPath))
        {
            if (!File.Exists(explicitPath))
            {
                throw new ForgeInputException($"--trtexec {explicitPath}: no such file");
            }

            return System.IO.Path.GetFullPath(explicitPath);
        }

        return FindOnPath(Environment.GetEnvironmentVariable("PATH"))
            ?? throw new ForgeInputException("trtexec not found on PATH (install TensorRT or pass --trtexec PATH)");
    }

    public static string? FindOnPath(string? pathVariable)
    {
        foreach (var dir in (pathVariable ?? "").Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var name in OperatingSystem.IsWindows() ? new[] { "trtexec.exe", "trtexec" } : ["trtexec"])
            {
                var candidate = System.IO.Path.Combine(dir, name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    /// <summary>
    /// Runs <c>trtexec --help</c> and reads the version from its banner (<c>[TensorRT v100800]</c>) and
    /// whether it is a stand-in. A configured version wins over the banner.
    /// </summary>
    public static async Task<TrtexecTool> DetectAsync(string path, TrtVersion? configured, CancellationToken ct)
    {
        TrtVersion? version = null;
        var standIn = false;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        void OnLine(string line)
        {
            if (version is null && TrtVersion.FromLogLine(line) is { } v)
            {
                version = v;

                // The banner is all forge needs (and the marker line of a stand-in, which follows it): a trtexec
                // that keeps going after its banner is stopped shortly after.
                timeout.CancelAfter(TimeSpan.FromSeconds(2));
            }

            standIn |= TrtexecLog.IsStandInLine(line);
        }

        try
        {
            await Cli.Wrap(path)
                .WithArguments(["--help"])
                .WithValidation(CommandResultValidation.None)
                .WithStandardOutputPipe(PipeTarget.ToDelegate(OnLine))
                .WithStandardErrorPipe(PipeTarget.ToDelegate(OnLine))
                .ExecuteAsync(timeout.Token, ct);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            if (version is null && configured is null)
            {
                throw new ForgeInputException($"{path}: `trtexec --help` printed no TensorRT version banner within 30 s; pass the version with --trt-version");
            }
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new ForgeInputException($"{path}: cannot be started ({e.Message})", e);
        }

        var resolved = configured ?? version
            ?? throw new ForgeInputException($"{path}: `trtexec --help` printed no TensorRT version banner ([TensorRT vNNNN]); pass the version with --trt-version");
        return new TrtexecTool(path, resolved, standIn);
    }
}
