using System.Diagnostics;
using OnnxTrtForge.TensorRt;

namespace OnnxTrtForge.TensorRt.Tests;

/// <summary>
/// The trtexec stand-in (tools/FakeTrtexec) and forge, as built alongside this test project
/// (tool-paths.txt is written by the build). Scripts pin the stand-in's version and failure mode the
/// way a user's PATH would pin a real trtexec.
/// </summary>
internal static class StandIn
{
    private static readonly Lazy<(string Trtexec, string Forge)> Paths = new(Find);

    public static string TrtexecPath => Paths.Value.Trtexec;

    public static string ForgePath => Paths.Value.Forge;

    /// <summary>A trtexec executable that runs the stand-in as TensorRT <paramref name="version"/>, optionally failing.</summary>
    public static string Script(string dir, string version = "10.8", string? fail = null)
    {
        var path = Path.Combine(dir, $"trtexec-{version}-{fail ?? "ok"}");
        var env = $"FAKE_TRTEXEC_VERSION={version}" + (fail is null ? "" : $" FAKE_TRTEXEC_FAIL={fail}");
        File.WriteAllText(path, $"#!/bin/sh\n{env} exec \"{TrtexecPath}\" \"$@\"\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return path;
    }

    public static async Task<TrtexecTool> ToolAsync(string dir, string version = "10.8", string? fail = null) =>
        await TrtexecTool.DetectAsync(Script(dir, version, fail), null, CancellationToken.None);

    /// <summary>Runs forge with arguments and extra environment; returns its exit code and output.</summary>
    public static (int ExitCode, string Stdout, string Stderr) Forge(IEnumerable<string> args, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(ForgePath) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("forge " + string.Join(' ', psi.ArgumentList) + " did not finish");
        }

        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Whether a running process has <paramref name="text"/> in its command line (Linux /proc; false elsewhere).</summary>
    public static bool AnyProcessMentions(string text)
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
                if (cmdline.Contains(text, StringComparison.Ordinal))
                {
                    return true;
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return false;
    }

    private static (string, string) Find()
    {
        var list = Path.Combine(AppContext.BaseDirectory, "tool-paths.txt");
        var lines = File.ReadAllLines(list).Where(l => l.Length > 0).ToArray();
        string Apphost(string dllName)
        {
            var dll = lines.Single(l => Path.GetFileName(l) == dllName);
            var host = Path.ChangeExtension(dll, null);
            if (!File.Exists(host))
            {
                throw new FileNotFoundException($"{host} was not built (see {list})");
            }

            return host;
        }

        return (Apphost("trtexec.dll"), Apphost("forge.dll"));
    }
}

/// <summary>A GPU probe that answers what the test says.</summary>
internal sealed class TestGpu(string name = "NVIDIA H100 80GB HBM3", string cc = "9.0") : IGpuProbe
{
    public Task<GpuInfo> ProbeAsync(CancellationToken ct) => Task.FromResult(new GpuInfo(name, cc));
}
