using System.Diagnostics;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.Validation.Tests;

/// <summary>
/// An engine candidate through <see cref="TrtexecNoisePredictor"/>, run by the trtexec stand-in (tools/FakeTrtexec:
/// its "engines" name the ONNX they were built from and it runs that in ONNX Runtime). This checks the plumbing
/// (names, types, files, exported outputs), not TensorRT.
/// </summary>
public sealed class TrtexecCandidateTests
{
    private static string StandIn()
    {
        var paths = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "tool-paths.txt"));
        var dll = paths.Single(p => p.Contains("FakeTrtexec", StringComparison.Ordinal));
        var exe = Path.ChangeExtension(dll, null);
        return File.Exists(exe) ? exe : throw new FileNotFoundException("the trtexec stand-in was not built", exe);
    }

    private static string Script(TempDir temp)
    {
        var path = temp.File("trtexec");
        File.WriteAllText(path, $"#!/bin/sh\nFAKE_TRTEXEC_VERSION=10.8 exec \"{StandIn()}\" \"$@\"\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return path;
    }

    private static void BuildEngine(string trtexec, string onnx, string engine)
    {
        var psi = new ProcessStartInfo(trtexec) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("--onnx=" + onnx);
        psi.ArgumentList.Add("--saveEngine=" + engine);
        psi.ArgumentList.Add("--skipInference");
        using var p = Process.Start(psi)!;
        _ = p.StandardError.ReadToEndAsync();
        var log = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, log);
    }

    [Theory]
    [InlineData("tiny_unet_opset12_fp32", 1e-5)]
    [InlineData("tiny_unet_opset12_fp16", 5e-3)] // fp16 kernels of another session configuration
    public async Task Validates_an_engine_candidate_step_by_step_through_trtexec(string fixture, double bound)
    {
        using var temp = Fixtures.Temp();
        var trtexec = Script(temp);
        var engine = temp.File("unet.trt");
        BuildEngine(trtexec, Fixtures.Model(fixture), engine);
        var request = new ValidationRequest
        {
            ReferencePath = Fixtures.Model(fixture),
            CandidatePath = engine,
            TrtexecPath = trtexec,
            Spec = DenoiseLoopTests.FixtureSpec("ddim", trajectory: false) with { Steps = 2 },
        };

        var result = await LoopValidation.RunAsync(request, null, CancellationToken.None);

        Assert.True(result.Passed, result.Summary());
        Assert.Equal(2, result.StepComparisons.Count);
        Assert.Contains("stand-in", result.Candidate, StringComparison.Ordinal);
        Assert.Contains("not a real TensorRT engine", result.Candidate, StringComparison.Ordinal);
        Assert.All(result.StepComparisons, s => Assert.True(s.Noise.RelativeL2 < bound, $"step {s.Step}: {s.Noise.RelativeL2}"));
    }

    [Fact]
    public async Task An_engine_built_from_the_fp16_export_takes_that_exports_input_types()
    {
        using var temp = Fixtures.Temp();
        var trtexec = Script(temp);
        var engine = temp.File("unet_fp16.trt");
        BuildEngine(trtexec, Fixtures.Model("tiny_unet_opset12_fp16"), engine);
        var request = new ValidationRequest
        {
            ReferencePath = Fixtures.Model("tiny_unet_opset12_fp32"),
            CandidatePath = engine,
            EngineSourcePath = Fixtures.Model("tiny_unet_opset12_fp16"),
            TrtexecPath = trtexec,
            Spec = DenoiseLoopTests.FixtureSpec("ddim", trajectory: false) with { Steps = 2 },
        };

        var result = await LoopValidation.RunAsync(request, null, CancellationToken.None);

        Assert.True(result.Passed, result.Summary());
        Assert.All(result.StepComparisons, s => Assert.InRange(s.Noise.RelativeL2, 1e-5, 5e-3));
    }
}
