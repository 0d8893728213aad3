using OnnxTrtForge.Pipelines.Spec;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.Pipelines.Tests;

public sealed class PipelineLoaderTests
{
    private static readonly string TinyModel = Fixtures.Model("tiny_unet_opset12_fp32");

    private static string Write(TempDir dir, string name, string yaml)
    {
        var path = dir.File(name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, yaml.Replace("MODEL", TinyModel, StringComparison.Ordinal));
        return path;
    }

    private static PipelineLoadOptions Options(Dictionary<string, string>? env = null, bool checkFiles = true) => BrokenPipelineTests.Options(env) with { CheckFiles = checkFiles };

    [Fact]
    public void Input_shapes_bind_to_static_shapes_and_a_bad_one_is_reported_at_its_place()
    {
        using var dir = Fixtures.Temp();
        var good = Write(dir, "good.yaml", """
            model: MODEL
            optimize:
              input-shapes: {input_0: 2x4x16x16, input_2: 2x77x32}
            """);
        var bad = Write(dir, "bad.yaml", """
            model: MODEL
            optimize:
              input-shapes:
                input_0: 2x4xbatchx16
            """);

        var loaded = PipelineLoader.Load(good, Options());
        Assert.Equal([2L, 4, 16, 16], loaded.Spec.Optimize!.InputShapes!["input_0"].Dims);
        var e = Assert.Throws<PipelineValidationException>(() => PipelineLoader.Load(bad, Options()));
        var error = Assert.Single(e.Errors);
        Assert.Equal((4L, 14L), (error.Where.Line, error.Where.Column));
    }

    [Fact]
    public void Expands_environment_variables_with_defaults_and_literal_dollars()
    {
        using var dir = Fixtures.Temp();
        var trtexec = Write(dir, "bin/trtexec", "");
        var file = Write(dir, "p.yaml", """
            model: MODEL
            name: ${NAME:-fallback}-$${NOT_A_VAR}
            build:
              trtexec: ${TRT_DIR}/trtexec
              version: ${UNSET_VERSION:-10.8}
              engine: ${ENGINE_NAME:-unet.engine}
            """);

        var loaded = PipelineLoader.Load(file, Options(new() { ["TRT_DIR"] = Path.GetDirectoryName(trtexec)!, ["ENGINE_NAME"] = "" }));

        Assert.Equal("fallback-${NOT_A_VAR}", loaded.Name);
        Assert.Equal(trtexec, loaded.Trtexec);
        Assert.Equal("10.8", loaded.Spec.Build!.Version);
        Assert.Equal("unet.engine", loaded.Spec.Build.Engine);
    }

    [Fact]
    public void Merges_a_referenced_config_with_the_keys_written_beside_use()
    {
        using var dir = Fixtures.Temp();
        Write(dir, "configs/shared.yaml", """
            tolerances:
              strict: {noise-rel-l2: 1e-4, latents-rel-l2: 1e-4, min-cosine: 0.9999}
            sampling:
              use: other.yaml#lms
              steps: 12
            """);
        Write(dir, "configs/other.yaml", """
            lms: {scheduler: lms, steps: 50, guidance: 7.5}
            """);
        var file = Write(dir, "pipelines/p.yaml", """
            model: MODEL
            optimize: {}
            validate:
              use: ../configs/shared.yaml#sampling
              guidance: 3
              tolerance:
                use: ../configs/shared.yaml#tolerances.strict
                latents-rel-l2: 5e-3
            """);

        var loaded = PipelineLoader.Load(file, Options());

        var v = loaded.Spec.Validate!;
        Assert.Equal(SchedulerKind.Lms, v.Scheduler);
        Assert.Equal(12, v.Steps);
        Assert.Equal(3, v.Guidance);
        Assert.Equal(1e-4, v.Tolerance.NoiseRelL2);
        Assert.Equal(5e-3, v.Tolerance.LatentsRelL2);
        Assert.Equal(0.9999, v.Tolerance.MinCosine);
        Assert.Equal([dir.File("configs/shared.yaml"), dir.File("configs/other.yaml")], loaded.ConfigFiles);
    }

    [Fact]
    public void An_error_inside_a_referenced_config_points_into_that_config()
    {
        using var dir = Fixtures.Temp();
        var config = Write(dir, "configs/profiles.yaml", """
            unet:
              input_0: {min: 2x4x16x16, opt: 2x4x16x16, max: 2x4x16x16}
              input_2: {min: 2x77x32, opt: 2x77xx32, max: 2x77x32}
            """);
        var file = Write(dir, "pipelines/p.yaml", """
            model: MODEL
            build:
              trtexec: MODEL
              profiles: {use: ../configs/profiles.yaml#unet}
            """);

        var error = Assert.Throws<PipelineValidationException>(() => PipelineLoader.Load(file, Options()));

        var e = Assert.Single(error.Errors);
        Assert.Equal((config, 3L, 32L), (e.Where.File, e.Where.Line, e.Where.Column));
        Assert.Contains("build.profiles.input_2.opt: bad shape '2x77xx32'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reference_cycles_are_reported_instead_of_followed()
    {
        using var dir = Fixtures.Temp();
        Write(dir, "a.yaml", "x: {use: b.yaml#y}\n");
        Write(dir, "b.yaml", "y: {use: a.yaml#x}\n");
        var file = Write(dir, "p.yaml", "model: MODEL\nvalidate: {use: a.yaml#x}\n");

        var error = Assert.Throws<PipelineValidationException>(() => PipelineLoader.Load(file, Options()));

        Assert.Contains(error.Errors, e => e.Message.Contains("form a cycle", StringComparison.Ordinal));
    }

    [Fact]
    public void Duplicate_keys_and_unknown_sections_are_both_reported()
    {
        using var dir = Fixtures.Temp();
        var file = Write(dir, "p.yaml", "model: MODEL\noptimize: {}\noptimize: {check: false}\nbuidl: {}\n");

        var error = Assert.Throws<PipelineValidationException>(() => PipelineLoader.Load(file, Options()));

        Assert.Equal(["3:1 duplicate key 'optimize'", "4:1 unknown key 'buidl' (did you mean 'build'?)"],
            error.Errors.Select(e => $"{e.Where.Line}:{e.Where.Column} {e.Message.Split(';')[0]}"));
    }

    [Fact]
    public void Files_are_checked_only_for_the_stages_that_will_run()
    {
        using var dir = Fixtures.Temp();
        var file = Write(dir, "p.yaml", """
            model: MODEL
            optimize: {}
            build: {trtexec: ./missing-trtexec}
            validate: {latents: missing.pb}
            """);

        var onlyOptimize = PipelineLoader.Load(file, Options() with { Stages = new HashSet<RunStage> { RunStage.Optimize } });
        var all = Assert.Throws<PipelineValidationException>(() => PipelineLoader.Load(file, Options()));

        Assert.Equal([RunStage.Optimize], onlyOptimize.Stages);
        Assert.Equal(["3:18", "4:21"], all.Errors.Select(e => $"{e.Where.Line}:{e.Where.Column}"));
    }

    [Fact]
    public void The_shipped_sd14_pipelines_are_valid_apart_from_the_models_users_provide()
    {
        using var dir = Fixtures.Temp();
        var trtexec = Write(dir, "trtexec", "");
        var env = new Dictionary<string, string> { ["TRTEXEC"] = trtexec };
        foreach (var name in new[] { "sd14-unet", "sd14-vae-decoder" })
        {
            var file = Path.Combine(Fixtures.RepoRoot, "pipelines", name + ".yaml");

            var error = Assert.Throws<PipelineValidationException>(() => PipelineLoader.Load(file, Options(env)));
            var structural = PipelineLoader.Load(file, Options(env, checkFiles: false));

            Assert.All(error.Errors, e => Assert.Contains("file not found", e.Message, StringComparison.Ordinal));
            Assert.All(error.Errors, e => Assert.Contains("/models/sd14/", e.Message, StringComparison.Ordinal));
            Assert.Equal(Path.Combine(Fixtures.RepoRoot, "models", "sd14", name.Replace("sd14-", "", StringComparison.Ordinal).Replace('-', '_') + ".onnx"),
                structural.Spec.Model.FullPath);
            Assert.Equal(Precision.Fp16, structural.Spec.Build!.Precision);
            Assert.NotNull(structural.Spec.Optimize!.Fp16);
        }

        var unet = PipelineLoader.Load(Path.Combine(Fixtures.RepoRoot, "pipelines", "sd14-unet.yaml"), Options(env, checkFiles: false));
        Assert.Equal("2x4x64x64", unet.Spec.Build!.Profiles["input_0"].Opt.ToString());
        Assert.Equal("2x77x768", unet.Spec.Build.Profiles["input_2"].Max.ToString());
        Assert.Equal((SchedulerKind.Lms, 50, 7.5), (unet.Spec.Validate!.Scheduler, unet.Spec.Validate.Steps, unet.Spec.Validate.Guidance));
        Assert.Equal(2e-2, unet.Spec.Validate.Tolerance.LatentsRelL2);
        Assert.Equal(8L << 30, unet.Spec.Build.Workspace!.Bytes);
    }

    [Fact]
    public void The_shipped_dynamic_shape_pipelines_give_one_profile_range_with_the_same_batch_for_latents_and_embeddings()
    {
        using var dir = Fixtures.Temp();
        var env = new Dictionary<string, string> { ["TRTEXEC"] = Write(dir, "trtexec", "") };

        var tiny = PipelineLoader.Load(Path.Combine(Fixtures.RepoRoot, "pipelines", "sd-tiny-dyn-ci.yaml"), Options(env));
        var fullFile = Path.Combine(Fixtures.RepoRoot, "pipelines", "sd14-unet-dyn.yaml");
        var error = Assert.Throws<PipelineValidationException>(() => PipelineLoader.Load(fullFile, Options(env)));
        var full = PipelineLoader.Load(fullFile, Options(env, checkFiles: false));

        Assert.Equal(Fixtures.Model("tiny_unet_dyn12_fp16_aten"), tiny.Spec.Model.FullPath);
        Assert.All(error.Errors, e => Assert.Contains("/models/sd14/", e.Message, StringComparison.Ordinal));
        Assert.Equal(Path.Combine(Fixtures.RepoRoot, "models", "sd14", "unet_dyn.onnx"), full.Spec.Model.FullPath);
        foreach (var (build, latent, opt) in new[] { (tiny.Spec.Build!, "1x4x16x16..4x4x64x64", "2x4x16x16"), (full.Spec.Build!, "1x4x32x32..4x4x128x128", "2x4x64x64") })
        {
            var sample = build.Profiles["input_0"];
            var embeddings = build.Profiles["input_2"];
            Assert.Equal(latent, $"{sample.Min}..{sample.Max}");
            Assert.Equal(opt, sample.Opt.ToString());
            Assert.Equal([sample.Min.Dims[0], sample.Opt.Dims[0], sample.Max.Dims[0]], [embeddings.Min.Dims[0], embeddings.Opt.Dims[0], embeddings.Max.Dims[0]]);
            Assert.Equal("1", build.Profiles["input_1"].Max.ToString());
            Assert.Equal(Precision.Fp16, build.Precision);
        }
    }

    [Fact]
    public void A_profile_that_changes_a_fixed_dim_of_the_dynamic_export_is_reported_at_its_line()
    {
        using var dir = Fixtures.Temp();
        var trtexec = Write(dir, "trtexec", "");
        var file = Write(dir, "p.yaml", $$"""
            model: {{Fixtures.Model("tiny_unet_dyn12_fp16_aten")}}
            build:
              trtexec: {{trtexec}}
              profiles:
                input_0: {min: 1x4x16x16, opt: 2x4x32x32, max: 4x4x64x64}
                input_2: {min: 1x77x16, opt: 2x77x16, max: 4x77x16}
            """);

        var error = Assert.Throws<PipelineValidationException>(() => PipelineLoader.Load(file, Options()));

        var e = Assert.Single(error.Errors);
        Assert.Equal(6, e.Where.Line);
        Assert.Contains("dimension 2 of input 'input_2' is fixed at 32", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_shipped_ort_cuda_pipeline_targets_ort_cuda_and_validates_the_fp16_model_on_cuda()
    {
        var file = Path.Combine(Fixtures.RepoRoot, "pipelines", "sd14-unet-ort-cuda.yaml");

        var error = Assert.Throws<PipelineValidationException>(() => PipelineLoader.Load(file, Options()));
        var structural = PipelineLoader.Load(file, Options(checkFiles: false));

        Assert.All(error.Errors, e => Assert.Contains("/models/sd14/", e.Message, StringComparison.Ordinal));
        var spec = structural.Spec;
        Assert.Equal(TargetRuntime.OrtCuda, spec.Optimize!.Target);
        Assert.NotNull(spec.Optimize.Fp16);
        Assert.Null(spec.Build);
        Assert.Equal(CandidateKind.Optimized, spec.Validate!.Candidate);
        Assert.Equal(ComputeDevice.Cuda, spec.Validate.Device);
        Assert.Equal((SchedulerKind.Lms, 50), (spec.Validate.Scheduler, spec.Validate.Steps));
        Assert.Equal(1e-2, spec.Validate.Tolerance.NoiseRelL2);
        Assert.Equal(1e-2, spec.Validate.Tolerance.LatentsRelL2);
        Assert.Equal("2x4x64x64", spec.Optimize.InputShapes!["input_0"].ToString());
    }

    [Fact]
    public void The_dry_run_plan_shows_absolute_paths_merged_configs_and_expanded_variables()
    {
        using var dir = Fixtures.Temp();
        var trtexec = Write(dir, "trtexec", "");
        var file = Path.Combine(Fixtures.RepoRoot, "pipelines", "sd-tiny-ci.yaml");
        var loaded = PipelineLoader.Load(file, Options(new() { ["TRTEXEC"] = trtexec, ["FORGE_CACHE"] = dir.File("cache") }) with { OutDirectory = dir.File("out") });

        var plan = PipelinePlan.Render(loaded);

        Assert.Contains($"out: {dir.File("out")}", plan, StringComparison.Ordinal);
        Assert.Contains($"trtexec: {trtexec}", plan, StringComparison.Ordinal);
        Assert.Contains($"model: {Fixtures.Model("tiny_unet_opset12_fp32")}", plan, StringComparison.Ordinal);
        Assert.Contains($"dir: {dir.File("cache")}", plan, StringComparison.Ordinal);
        Assert.Contains("input_0: 2x4x16x16\n", plan, StringComparison.Ordinal);
        Assert.Contains("input_1: 1\n", plan, StringComparison.Ordinal);
        Assert.Contains("latents-rel-l2: 0.02", plan, StringComparison.Ordinal);
        Assert.Contains("- optimize-check\n- fp16-check\n- build\n- validation\n", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("${", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("../", plan, StringComparison.Ordinal);
    }
}

public sealed class PlanArgumentTests
{
    [Theory]
    [InlineData("8.6", "--workspace=1024", true)]
    [InlineData("10.8", "--memPoolSize=workspace:1024M", true)]
    [InlineData("11.0", "--memPoolSize=workspace:1024M", false)]
    public void The_plan_shows_the_trtexec_command_line_of_the_version_hint(string version, string workspaceFlag, bool fp16Flag)
    {
        using var dir = Fixtures.Temp();
        var file = dir.File("p.yaml");
        File.WriteAllText(file, $"""
            model: {Fixtures.Model("tiny_unet_opset12_fp32")}
            optimize:
              fp16: true
            build:
              trtexec: {file}
              version: "{version}"
              workspace: 1G
            """);

        var plan = PipelinePlan.Render(PipelineLoader.Load(file, BrokenPipelineTests.Options() with { OutDirectory = dir.File("out") }));

        Assert.Contains($"- --onnx={dir.File("out/model.fp16.onnx")}\n", plan, StringComparison.Ordinal);
        Assert.Contains($"- {workspaceFlag}\n", plan, StringComparison.Ordinal);
        Assert.Equal(fp16Flag, plan.Contains("- --fp16\n", StringComparison.Ordinal));
    }
}

public sealed class ReadmeExampleTests
{
    [Fact]
    public void The_full_example_in_the_README_is_a_valid_pipeline()
    {
        var readme = File.ReadAllText(Path.Combine(Fixtures.RepoRoot, "README.md"));
        var start = readme.IndexOf("```yaml\nversion: 1", StringComparison.Ordinal);
        Assert.True(start >= 0, "README has no full pipeline example");
        var body = readme[(start + "```yaml\n".Length)..];
        var yaml = body[..body.IndexOf("```", StringComparison.Ordinal)];
        using var dir = Fixtures.Temp();
        var file = dir.File("pipelines/example.yaml");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllText(file, yaml);

        var loaded = PipelineLoader.Load(file, BrokenPipelineTests.Options(new() { ["TRTEXEC"] = "/bin/true" }) with { CheckFiles = false });

        Assert.Equal([RunStage.Optimize, RunStage.Build, RunStage.Validate], loaded.Stages);
        Assert.Equal("1M", loaded.Spec.Optimize!.Passes![0].Options["max-output"]);
        Assert.Equal(["+Softmax"], loaded.Spec.Optimize.Fp16!.OpBlockList!);
        Assert.Equal(Spec.SchedulerKind.Lms, loaded.Spec.Validate!.Scheduler);
        Assert.Equal(30, loaded.Spec.Validate.Tolerance.MinPsnr);
    }
}
