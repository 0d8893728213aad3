using System.Diagnostics;

namespace OnnxTrtForge.Pipelines.Tests;

/// <summary>forge and the trtexec stand-in (tools/FakeTrtexec, a test double) as built beside this project.</summary>
internal static class Tools
{
    private static readonly Lazy<(string Trtexec, string Forge)> Paths = new(Find);

    public static string Forge => Paths.Value.Forge;

    /// <summary>A trtexec script that runs the stand-in as TensorRT <paramref name="version"/>, optionally failing.</summary>
    public static string Trtexec(string dir, string version = "10.8", string? fail = null)
    {
        var path = Path.Combine(dir, $"trtexec-{version}-{fail ?? "ok"}");
        var env = $"FAKE_TRTEXEC_VERSION={version}" + (fail is null ? "" : $" FAKE_TRTEXEC_FAIL={fail}");
        File.WriteAllText(path, $"#!/bin/sh\n{env} exec \"{Paths.Value.Trtexec}\" \"$@\"\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return path;
    }

    public sealed record Run(int ExitCode, string Stdout, string Stderr);

    /// <summary>Runs forge like CI does (output redirected, CI set) with extra environment.</summary>
    public static Run RunForge(IEnumerable<string> args, IDictionary<string, string>? env = null, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(Forge) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["CI"] = "true";
        psi.Environment.Remove("GITHUB_STEP_SUMMARY");
        psi.Environment.Remove("GITHUB_ACTIONS");
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("forge " + string.Join(' ', psi.ArgumentList) + " did not finish");
        }

        return new Run(p.ExitCode, stdout.Result, stderr.Result);
    }

    private static (string, string) Find()
    {
        var list = Path.Combine(AppContext.BaseDirectory, "tool-paths.txt");
        var lines = File.ReadAllLines(list).Where(l => l.Length > 0).ToArray();
        string Apphost(string dllName)
        {
            var host = Path.ChangeExtension(lines.Single(l => Path.GetFileName(l) == dllName), null);
            return File.Exists(host) ? host : throw new FileNotFoundException($"{host} was not built (see {list})");
        }

        return (Apphost("trtexec.dll"), Apphost("forge.dll"));
    }
}
