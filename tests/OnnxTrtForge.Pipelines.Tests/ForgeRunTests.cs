using System.Text.Json;
using System.Xml.Linq;
using OnnxTrtForge.Core;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Pipelines.Running;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.Pipelines.Tests;

/// <summary>
/// <c>forge run</c> as CI calls it, on the shipped pipelines and fixtures, with tools/FakeTrtexec as
/// trtexec (a test double: its "engines" run the ONNX in ONNX Runtime).
/// </summary>
public sealed class ForgeRunTests
{
    private static readonly string TinyCi = Path.Combine(Fixtures.RepoRoot, "pipelines", "sd-tiny-ci.yaml");

    [Fact]
    public void Tiny_CI_pipeline_runs_end_to_end_writes_every_artifact_and_hits_the_engine_cache_the_second_time()
    {
        using var dir = Fixtures.Temp();
        var outDir = dir.File("out");
        var summary = dir.File("step-summary.md");
        var env = new Dictionary<string, string>
        {
            ["TRTEXEC"] = Tools.Trtexec(dir.Path),
            ["FORGE_CACHE"] = dir.File("cache"),
            ["GITHUB_STEP_SUMMARY"] = summary,
        };

        var first = Tools.RunForge(["run", TinyCi, "--out", outDir], env);

        Assert.True(first.ExitCode == ExitCode.Ok, first.Stdout + first.Stderr);
        Assert.Matches(@"(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \[validate\] 100% step 8/8, \d+ ms/step$", first.Stdout);
        using (var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "report.json"))))
        {
            var root = json.RootElement;
            Assert.Equal(0, root.GetProperty("exitCode").GetInt32());
            var gates = root.GetProperty("gates").EnumerateArray().ToList();
            Assert.Equal(["optimize-check", "fp16-check", "build", "validation"], gates.Select(g => g.GetProperty("name").GetString()));
            Assert.All(gates, g => Assert.Equal("passed", g.GetProperty("status").GetString()));
            var build = gates[2].GetProperty("figures");
            Assert.Equal("false", build.GetProperty("cacheHit").GetString());
            Assert.Equal("true", build.GetProperty("standIn").GetString());
            var validation = gates[3].GetProperty("figures");
            Assert.InRange(double.Parse(validation.GetProperty("finalLatentsRelL2").GetString()!, System.Globalization.CultureInfo.InvariantCulture), 1e-6, 2e-2);
            Assert.Equal("8", validation.GetProperty("steps").GetString());
        }

        var junit = XDocument.Load(Path.Combine(outDir, "junit.xml"));
        var cases = junit.Descendants("testcase").ToList();
        Assert.Equal(4, cases.Count);
        Assert.Empty(junit.Descendants("failure"));
        Assert.Equal("4", junit.Root!.Attribute("tests")!.Value);

        var markdown = File.ReadAllText(Path.Combine(outDir, "report.md"));
        Assert.Contains("## forge run `sd-tiny-ci`: ✅ passed", markdown, StringComparison.Ordinal);
        Assert.Contains("| validation | validate | ✅ pass |", markdown, StringComparison.Ordinal);
        Assert.Equal(markdown + "\n", File.ReadAllText(summary));

        using (var optimized = OnnxReader.Load(Path.Combine(outDir, "model.optimized.onnx")))
        {
            var census = optimized.Graph.OpCensus();
            Assert.DoesNotContain("Constant", census.Keys);
            Assert.DoesNotContain("Identity", census.Keys);
        }

        using (var fp16 = OnnxReader.Load(Path.Combine(outDir, "model.fp16.onnx")))
        {
            Assert.Contains(fp16.Graph.Initializers, v => v.Initializer!.Type == Core.Ir.DataType.Float16);
        }

        Assert.True(new FileInfo(Path.Combine(outDir, "model.engine")).Length > 0);
        Assert.True(File.Exists(Path.Combine(outDir, "model.engine.log")));

        // A second run (optimize and build only): same model bytes, same options → the engine comes from the cache.
        var second = Tools.RunForge(["run", TinyCi, "--out", outDir, "--only", "optimize,build"], env);

        Assert.True(second.ExitCode == ExitCode.Ok, second.Stdout + second.Stderr);
        Assert.Contains("cache hit", second.Stdout, StringComparison.Ordinal);
        using var again = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "report.json")));
        var buildGate = again.RootElement.GetProperty("gates").EnumerateArray().Single(g => g.GetProperty("name").GetString() == "build");
        Assert.Equal("true", buildGate.GetProperty("figures").GetProperty("cacheHit").GetString());
    }

    [Fact]
    public void Dynamic_shape_CI_pipeline_keeps_the_dims_symbolic_builds_one_engine_for_the_profile_range_and_validates_it()
    {
        using var dir = Fixtures.Temp();
        var outDir = dir.File("out");
        var env = new Dictionary<string, string> { ["TRTEXEC"] = Tools.Trtexec(dir.Path), ["FORGE_CACHE"] = dir.File("cache") };

        var run = Tools.RunForge(["run", Path.Combine(Fixtures.RepoRoot, "pipelines", "sd-tiny-dyn-ci.yaml"), "--out", outDir], env);

        Assert.True(run.ExitCode == ExitCode.Ok, run.Stdout + run.Stderr);
        using (var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "report.json"))))
        {
            var gates = json.RootElement.GetProperty("gates").EnumerateArray().ToList();
            Assert.Equal(["optimize-check", "build", "validation"], gates.Select(g => g.GetProperty("name").GetString()));
            Assert.All(gates, g => Assert.Equal("passed", g.GetProperty("status").GetString()));
            Assert.Equal("true", gates[1].GetProperty("figures").GetProperty("standIn").GetString());
            Assert.InRange(double.Parse(gates[2].GetProperty("figures").GetProperty("finalLatentsRelL2").GetString()!, System.Globalization.CultureInfo.InvariantCulture), 1e-6, 2e-2);
        }

        using (var optimized = OnnxReader.Load(Path.Combine(outDir, "model.optimized.onnx")))
        {
            Assert.Equal("[batch,4,height,width]", $"[{string.Join(",", optimized.Graph.Inputs[0].Type!.Shape!)}]");
            Assert.Equal("[batch,sequence,32]", $"[{string.Join(",", optimized.Graph.Inputs[2].Type!.Shape!)}]");
            Assert.DoesNotContain("ATen", optimized.Graph.OpCensus().Keys);
        }

        var log = File.ReadAllText(Path.Combine(outDir, "model.engine.log"));
        Assert.Contains("for optimization profile 0 to: MIN=1x4x16x16 OPT=2x4x16x16 MAX=4x4x64x64", log, StringComparison.Ordinal);
        Assert.Contains("for optimization profile 0 to: MIN=1x77x32 OPT=2x77x32 MAX=4x77x32", log, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failed_engine_build_exits_4_and_the_validation_gate_is_reported_as_skipped()
    {
        using var dir = Fixtures.Temp();
        var pipeline = dir.File("p.yaml");
        File.WriteAllText(pipeline, $"""
            name: failing-build
            model: {Fixtures.Model("tiny_unet_opset12_fp16_aten")}
            build:
              trtexec: {Tools.Trtexec(dir.Path, "10.8", "unsupported-op")}
              cache:
                enabled: false
            validate:
              reference: {Fixtures.Model("tiny_unet_opset12_fp32")}
              steps: 2
            """);

        var run = Tools.RunForge(["run", pipeline, "--out", dir.File("out")], new Dictionary<string, string> { ["GITHUB_ACTIONS"] = "true" });

        Assert.Equal(ExitCode.EngineBuildFailed, run.ExitCode);
        Assert.Contains("FAILED  build: engine build failed (UnsupportedOp)", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("::error file=" + pipeline + ",title=forge run failing-build: build (exit 4)::engine build failed (UnsupportedOp)", run.Stdout, StringComparison.Ordinal);
        var junit = XDocument.Load(dir.File("out/junit.xml"));
        var cases = junit.Descendants("testcase").ToDictionary(c => c.Attribute("name")!.Value);
        Assert.Equal("exit-4", cases["build"].Element("failure")!.Attribute("type")!.Value);
        Assert.NotNull(cases["validation"].Element("skipped"));
        Assert.False(File.Exists(dir.File("out/model.engine")));
    }

    [Fact]
    public async Task A_candidate_beyond_tolerance_fails_the_validation_gate_with_exit_5_naming_the_step()
    {
        using var dir = Fixtures.Temp();
        var pipeline = dir.File("p.yaml");
        File.WriteAllText(pipeline, $"""
            name: too-strict
            model: {Fixtures.Model("tiny_unet_opset12_fp32")}
            optimize:
              check: false
              fp16: true
            validate:
              steps: 2
              tolerance:
                noise-rel-l2: 1e-7
            """);
        var loaded = PipelineLoader.Load(pipeline, new PipelineLoadOptions { OutDirectory = dir.File("out") });
        var events = new List<PipelineEvent>();

        var result = await PipelineRunner.RunAsync(loaded, new Collect(events), new PipelineRunOptions { Environment = _ => null });

        Assert.Equal(ExitCode.OutOfTolerance, result.ExitCode);
        var gate = Assert.Single(result.Gates, g => g.Name == "validation");
        Assert.Equal(GateStatus.Failed, gate.Status);
        Assert.Contains("out of tolerance from step 0", gate.Message, StringComparison.Ordinal);
        Assert.Contains("model.fp16.onnx", gate.Figures["candidate"], StringComparison.Ordinal);
        Assert.Equal(
            [(RunStage.Optimize, PipelineEventKind.StageStarted), (RunStage.Optimize, PipelineEventKind.StageFinished), (RunStage.Validate, PipelineEventKind.StageStarted), (RunStage.Validate, PipelineEventKind.StageFinished)],
            events.Where(e => e.Kind is PipelineEventKind.StageStarted or PipelineEventKind.StageFinished).Select(e => (e.Stage, e.Kind)));
        Assert.Equal([false], events.Where(e => e.Stage == RunStage.Validate && e.Kind == PipelineEventKind.StageFinished).Select(e => e.Passed));
    }

    [Fact]
    public async Task The_articles_ATen_export_is_rewritten_built_with_fp16_inputs_and_validated_against_the_fp32_export()
    {
        using var dir = Fixtures.Temp();
        var pipeline = dir.File("p.yaml");
        File.WriteAllText(pipeline, $$"""
            name: aten
            model: {{Fixtures.Model("tiny_unet_opset12_fp16_aten")}}
            optimize:
              rules: [aten-broadcast-to-expand]
            build:
              trtexec: {{Tools.Trtexec(dir.Path)}}
              profiles: {use: {{Path.Combine(Fixtures.RepoRoot, "configs", "sd14.yaml")}}#profiles.tiny-unet}
              cache:
                dir: {{dir.File("cache")}}
            validate:
              reference: {{Fixtures.Model("tiny_unet_opset12_fp32")}}
              steps: 2
              latents: {{Path.Combine(Fixtures.Dir("tiny_unet_opset12_fp32"), "denoise_lms", "latents_init.pb")}}
              embeddings: {{Path.Combine(Fixtures.Dir("tiny_unet_opset12_fp32"), "denoise_lms", "text_embeddings.pb")}}
              tolerance: {noise-rel-l2: 2e-2, latents-rel-l2: 2e-2}
            """);
        var loaded = PipelineLoader.Load(pipeline, new PipelineLoadOptions { OutDirectory = dir.File("out") });

        var result = await PipelineRunner.RunAsync(loaded, null, new PipelineRunOptions { Environment = _ => null });

        Assert.True(result.Passed, string.Join("\n", result.Gates.Select(g => $"{g.Name}: {g.Message}")));
        Assert.Equal(["optimize-check", "build", "validation"], result.Gates.Select(g => g.Name));
        using var optimized = OnnxReader.Load(dir.File("out/model.optimized.onnx"));
        Assert.DoesNotContain("ATen", optimized.Graph.OpCensus().Keys);
        Assert.Equal(Core.Ir.DataType.Float16, optimized.Graph.Inputs[0].Type!.ElementType);
        Assert.InRange(double.Parse(result.Gates[2].Figures["maxNoiseRelL2"], System.Globalization.CultureInfo.InvariantCulture), 1e-5, 2e-2);
    }

    [Fact]
    public void Broken_pipeline_exits_2_with_one_line_per_error_and_runs_nothing()
    {
        using var dir = Fixtures.Temp();
        var file = Path.Combine(BrokenPipelineTests.BrokenDir, "all-at-once.yaml");

        var run = Tools.RunForge(["run", file, "--out", dir.File("out")]);

        Assert.Equal(ExitCode.BadInput, run.ExitCode);
        var lines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(9, lines.Length);
        Assert.All(lines[..8], l => Assert.Matches(@"^forge: error: .*all-at-once\.yaml:\d+:\d+: ", l));
        Assert.Equal("forge: 8 errors in the pipeline; nothing was run", lines[8]);
        Assert.False(Directory.Exists(dir.File("out")));
    }

    [Fact]
    public void Dry_run_prints_the_plan_and_writes_nothing()
    {
        using var dir = Fixtures.Temp();
        var env = new Dictionary<string, string> { ["TRTEXEC"] = Tools.Trtexec(dir.Path), ["FORGE_CACHE"] = dir.File("cache") };

        var run = Tools.RunForge(["run", TinyCi, "--dry-run", "--only", "build,validate", "--out", dir.File("out")], env);

        Assert.Equal(ExitCode.Ok, run.ExitCode);
        Assert.Contains("stages:\n- build\n- validate\n", run.Stdout, StringComparison.Ordinal);
        Assert.Contains($"trtexec: {env["TRTEXEC"]}", run.Stdout, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir.File("out")));
    }

    private sealed class Collect(List<PipelineEvent> events) : IProgress<PipelineEvent>
    {
        public void Report(PipelineEvent value)
        {
            lock (events)
            {
                events.Add(value);
            }
        }
    }
}

public sealed class CancellationTests
{
    [Fact]
    public async Task Cancelling_a_hanging_engine_build_exits_130_leaves_no_engine_and_still_writes_the_reports()
    {
        using var dir = Fixtures.Temp();
        var pipeline = dir.File("p.yaml");
        File.WriteAllText(pipeline, $"""
            name: hanging-build
            model: {Fixtures.Model("tiny_unet_opset12_fp32")}
            build:
              trtexec: {Tools.Trtexec(dir.Path, "10.8", "hang")}
              cache:
                enabled: false
            validate:
              candidate: engine
              steps: 2
            """);
        var loaded = PipelineLoader.Load(pipeline, new PipelineLoadOptions { OutDirectory = dir.File("out") });
        using var cancel = new CancellationTokenSource();
        var progress = new CancelWhenBuilding(cancel);

        var result = await PipelineRunner.RunAsync(loaded, progress, new PipelineRunOptions { Environment = _ => null }, cancel.Token);

        Assert.Equal(ExitCode.Cancelled, result.ExitCode);
        Assert.Equal([("build", GateStatus.Failed, ExitCode.Cancelled), ("validation", GateStatus.Skipped, 0)], result.Gates.Select(g => (g.Name, g.Status, g.ExitCode)));
        Assert.DoesNotContain(Directory.GetFiles(dir.File("out")), f => f.Contains(".engine", StringComparison.Ordinal) && !f.EndsWith(".log", StringComparison.Ordinal));
        var junit = XDocument.Load(dir.File("out/junit.xml"));
        Assert.Equal("exit-130", junit.Descendants("failure").Single().Attribute("type")!.Value);
    }

    /// <summary>Cancels shortly after the build stage starts (the stand-in hangs until killed).</summary>
    private sealed class CancelWhenBuilding(CancellationTokenSource cancel) : IProgress<PipelineEvent>
    {
        public void Report(PipelineEvent value)
        {
            if (value.Stage == RunStage.Build && value.Kind == PipelineEventKind.StageStarted)
            {
                cancel.CancelAfter(TimeSpan.FromMilliseconds(1500));
            }
        }
    }
}
