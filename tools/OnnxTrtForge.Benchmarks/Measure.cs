using System.Diagnostics;
using System.Globalization;

namespace OnnxTrtForge.Benchmarks;

/// <summary>Runs a program under /usr/bin/time: wall seconds and peak RSS, after a sync.</summary>
internal static class Measure
{
    public static (double Seconds, long RssKb) Timed(string file, string arguments, string? label = null)
    {
        // Flush earlier runs' dirty pages first, so each step starts from the same writeback state.
        using (var sync = Process.Start("sync"))
        {
            sync!.WaitForExit();
        }

        var psi = new ProcessStartInfo("/usr/bin/time", $"-f \"__TIME__ %e %M\" {file} {arguments}")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        var sw = Stopwatch.StartNew();
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        sw.Stop();
        _ = stdout.Result;
        var line = stderr.Split('\n').LastOrDefault(l => l.StartsWith("__TIME__", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"no timing from /usr/bin/time for {file}: {stderr}");
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {arguments} failed ({process.ExitCode}): {stderr}");
        }

        var parts = line.Split(' ');
        Console.WriteLine($"{label ?? file + " " + arguments.Split(' ').ElementAtOrDefault(1)}: {sw.Elapsed.TotalSeconds:0.00} s, peak RSS {long.Parse(parts[2], CultureInfo.InvariantCulture) / 1024} MB");
        return (sw.Elapsed.TotalSeconds, long.Parse(parts[2], CultureInfo.InvariantCulture));
    }

    // Each step writes into an empty folder, so neither inherits the other's disk state.
    public static void Clean(string folder)
    {
        foreach (var f in Directory.GetFiles(folder))
        {
            File.Delete(f);
        }
    }

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
