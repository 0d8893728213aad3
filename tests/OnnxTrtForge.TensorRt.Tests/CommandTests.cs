using OnnxTrtForge.Core;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.TensorRt.Tests;

/// <summary><c>forge build</c> and <c>forge bench</c> as processes: exit codes and what they print.</summary>
public sealed class CommandTests
{
    private static readonly string Model = Fixtures.Model("tiny_unet_opset12_fp32");

    [Theory]
    [InlineData("unknown-option", "unknown-option")]
    [InlineData("oom", "out-of-memory")]
    [InlineData("no-implementation", "no-implementation")]
    [InlineData("unsupported-op", "unsupported-op")]
    [InlineData("parser-error", "parser-error")]
    public void A_failed_build_exits_4_with_the_classified_reason(string fail, string reason)
    {
        using var dir = Fixtures.Temp();
        var (code, _, stderr) = StandIn.Forge(
            ["build", Model, "--trtexec", StandIn.Script(dir.Path, "10.8", fail), "--engine", dir.File("e.trt"), "--cache-dir", dir.File("cache")]);
        Assert.Equal(ExitCode.EngineBuildFailed, code);
        Assert.Contains($"engine build failed ({reason})", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("e.trt")));
    }

    [Fact]
    public void A_build_past_its_timeout_exits_4()
    {
        using var dir = Fixtures.Temp();
        var (code, _, stderr) = StandIn.Forge(["build", Model, "--trtexec", StandIn.Script(dir.Path, "10.8", "hang"), "--engine", dir.File("e.trt"), "--no-cache", "--timeout", "2"]);
        Assert.Equal(ExitCode.EngineBuildFailed, code);
        Assert.Contains("engine build failed (timeout)", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("e.trt")));
        Assert.Empty(Directory.EnumerateFiles(dir.Path, "*.partial-*"));
    }

    [Fact]
    public async Task Ctrl_C_stops_the_build_and_trtexec_exits_130_and_leaves_no_partial_engine()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        using var dir = Fixtures.Temp();
        var psi = new System.Diagnostics.ProcessStartInfo(StandIn.ForgePath) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "build", Model, "--trtexec", StandIn.Script(dir.Path, "10.8", "hang"), "--engine", dir.File("e.trt"), "--no-cache" })
        {
            psi.ArgumentList.Add(a);
        }

        using var forge = System.Diagnostics.Process.Start(psi)!;
        var stdout = forge.StandardOutput.ReadToEndAsync();
        var seen = new System.Text.StringBuilder();
        while (await forge.StandardError.ReadLineAsync() is { } line)
        {
            seen.AppendLine(line);
            if (line.Contains("build: building", StringComparison.Ordinal))
            {
                break;
            }
        }

        Assert.Contains("build: building", seen.ToString(), StringComparison.Ordinal);
        using (var kill = System.Diagnostics.Process.Start("kill", ["-INT", forge.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        var rest = forge.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await forge.WaitForExitAsync(limit.Token);
        await stdout;
        Assert.Equal(ExitCode.Cancelled, forge.ExitCode);
        Assert.Contains("cancelled", await rest, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("e.trt")));
        Assert.Empty(Directory.EnumerateFiles(dir.Path, "*.partial-*"));
        Assert.False(StandIn.AnyProcessMentions(dir.Path), "trtexec is still running after Ctrl-C");
    }

    [Fact]
    public void A_missing_trtexec_exits_2_with_one_line()
    {
        using var dir = Fixtures.Temp();
        var (code, _, stderr) = StandIn.Forge(["build", Model, "--engine", dir.File("e.trt"), "--no-cache"], new Dictionary<string, string> { ["PATH"] = dir.Path });
        Assert.Equal(ExitCode.BadInput, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("trtexec not found on PATH", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_then_bench_with_the_stand_in_say_so_everywhere()
    {
        using var dir = Fixtures.Temp();
        var trtexec = StandIn.Script(dir.Path, "10.8");
        var engine = dir.File("unet.trt");
        var build = StandIn.Forge(["build", Model, "--trtexec", trtexec, "--engine", engine, "--precision", "fp16", "--shape", "input_0:2x4x16x16", "--cache-dir", dir.File("cache"), "--report", dir.File("build.json")]);
        Assert.True(build.ExitCode == 0, build.Stderr);
        Assert.Contains(TrtexecTool.StandInNotice, build.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"standIn\": \"" + TrtexecTool.StandInNotice + "\"", File.ReadAllText(dir.File("build.json")), StringComparison.Ordinal);

        var again = StandIn.Forge(["build", Model, "--trtexec", trtexec, "--engine", dir.File("copy.trt"), "--precision", "fp16", "--shape", "input_0:2x4x16x16", "--cache-dir", dir.File("cache")]);
        Assert.Equal(0, again.ExitCode);
        Assert.StartsWith("cache hit", again.Stdout, StringComparison.Ordinal);

        var bench = StandIn.Forge(["bench", engine, "--trtexec", trtexec, "--iterations", "3", "--warmup", "0", "--report", dir.File("bench.md")]);
        Assert.True(bench.ExitCode == 0, bench.Stderr);
        Assert.Contains("GPU compute", bench.Stdout, StringComparison.Ordinal);
        Assert.Contains("p99", bench.Stdout, StringComparison.Ordinal);
        Assert.Contains(TrtexecTool.StandInNotice, File.ReadAllText(dir.File("bench.md")), StringComparison.Ordinal);
    }

    [Fact]
    public void Validating_an_engine_that_trtexec_cannot_run_is_a_validation_failure_exit_5()
    {
        using var dir = Fixtures.Temp();
        var engine = dir.File("unet.trt");
        Assert.Equal(0, StandIn.Forge(["build", Model, "--trtexec", StandIn.Script(dir.Path, "10.8"), "--engine", engine, "--no-cache"]).ExitCode);

        // An engine from TensorRT 10.8 does not load in 11.0: trtexec fails, the candidate fails validation (exit 5;
        // 4 is reserved for engine builds).
        var (code, _, stderr) = StandIn.Forge(["validate", "--reference", Model, "--candidate", engine, "--trtexec", StandIn.Script(dir.Path, "11.0"), "--steps", "1"]);
        Assert.Equal(ExitCode.OutOfTolerance, code);
        Assert.Contains("trtexec could not run the engine", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void An_fp16_build_on_TensorRT_11_of_an_fp32_model_exits_2_and_names_the_pass()
    {
        using var dir = Fixtures.Temp();
        var (code, _, stderr) = StandIn.Forge(["build", Model, "--trtexec", StandIn.Script(dir.Path, "11.0"), "--engine", dir.File("e.trt"), "--precision", "fp16", "--no-cache"]);
        Assert.Equal(ExitCode.BadInput, code);
        Assert.Contains("to-fp16", stderr, StringComparison.Ordinal);
    }
}
