using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.TensorRt.Tests;

/// <summary>
/// Runs alone: it writes a script and executes it, and a script written while another test forks can be
/// busy (ETXTBSY) when exec'd, so it does not share the run with the other tests that start scripts.
/// </summary>
[Collection(nameof(ScriptsRunAlone))]
public sealed class EngineInferenceExportTests
{
    [Fact]
    public async Task A_truncated_export_of_the_outputs_is_a_trtexec_failure_with_exit_5_not_an_unexpected_error()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        using var dir = Fixtures.Temp();
        var engine = dir.File("any.trt");
        File.WriteAllBytes(engine, [1, 2, 3]);
        var script = dir.File("trtexec");

        // a trtexec that exits 0 but leaves a cut-off --exportOutput (a crash while writing it)
        File.WriteAllText(script, "#!/bin/sh\nfor a in \"$@\"; do case \"$a\" in --exportOutput=*) printf '[{\"name\": \"out\", \"dimensions\": \"1x2\", \"val' > \"${a#--exportOutput=}\";; esac; done\nexit 0\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var tool = new TrtexecTool(script, new TrtVersion(10, 8, 0), IsStandIn: false);

        var e = await Assert.ThrowsAsync<TrtexecFailedException>(() =>
            new EngineInference(tool).RunAsync(engine, [("x", Tensor.FromFloats([1, 2], [0f, 1f]))], ["out"], CancellationToken.None));

        Assert.Equal(Core.ExitCode.OutOfTolerance, e.ExitCode);
        Assert.Contains("--exportOutput is unreadable", e.Message, StringComparison.Ordinal);
    }
}

[CollectionDefinition(nameof(ScriptsRunAlone), DisableParallelization = true)]
public sealed class ScriptsRunAlone;
