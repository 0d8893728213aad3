using OnnxTrtForge.Testing;

namespace OnnxTrtForge.TensorRt.Tests;

public sealed class TrtexecRunnerTests
{
    [Fact]
    public async Task Streams_the_log_to_a_file_reports_phases_and_heartbeats_and_stops_on_cancel()
    {
        using var dir = Fixtures.Temp();
        var trtexec = StandIn.Script(dir.Path, "10.8", "hang");
        var reports = new List<TrtexecProgress>();
        using var cts = new CancellationTokenSource();
        var progress = new Sync(p =>
        {
            lock (reports)
            {
                reports.Add(p);
                if (reports.Count(r => r.Heartbeat && r.Phase == TrtexecPhase.Building) >= 2)
                {
                    cts.Cancel();
                }
            }
        });
        var log = dir.File("logs/build.log");
        var run = await TrtexecRunner.RunAsync(
            trtexec, ["--onnx=" + Fixtures.Model("tiny_unet_opset12_fp32"), "--saveEngine=" + dir.File("e.trt")], log, TimeSpan.FromMinutes(2), progress, TimeSpan.FromMilliseconds(300), cts.Token);

        Assert.True(run.Cancelled);
        Assert.False(run.TimedOut);
        var phases = reports.Where(r => !r.Heartbeat).Select(r => r.Phase).ToList();
        Assert.Equal(phases.Order().ToList(), phases);
        Assert.Contains(TrtexecPhase.Parsing, phases);
        var beats = reports.Where(r => r.Heartbeat).ToList();
        Assert.True(beats.Count >= 2);
        Assert.True(beats[^1].Elapsed > beats[0].Elapsed);
        var text = File.ReadAllText(log);
        Assert.Contains("&&&& RUNNING TensorRT.trtexec [TensorRT v100800]", text, StringComparison.Ordinal);
        Assert.Contains(TrtexecLog.StandInMarker, text, StringComparison.Ordinal);
        Assert.Equal(File.ReadAllLines(log).TakeLast(run.Tail.Count), run.Tail);
    }

    [Fact]
    public async Task Reports_the_exit_code_of_a_failed_run()
    {
        using var dir = Fixtures.Temp();
        var run = await TrtexecRunner.RunAsync(StandIn.Script(dir.Path, "11.0"), ["--fp16"], dir.File("log.txt"), null, null, CancellationToken.None);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("Unknown option: --fp16", File.ReadAllText(dir.File("log.txt")), StringComparison.Ordinal);
        Assert.Contains(TrtexecRunner.FailureTail(run), l => l.Contains("Unknown option: --fp16", StringComparison.Ordinal));
    }

    private sealed class Sync(Action<TrtexecProgress> report) : IProgress<TrtexecProgress>
    {
        public void Report(TrtexecProgress value) => report(value);
    }
}
