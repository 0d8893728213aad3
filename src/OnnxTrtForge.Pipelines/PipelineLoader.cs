using System.Text.RegularExpressions;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Pipelines.Spec;
using OnnxTrtForge.Pipelines.Yaml;

namespace OnnxTrtForge.Pipelines;

/// <summary>The stages of a pipeline, in the order they run.</summary>
public enum RunStage
{
    Optimize,
    Build,
    Validate,
}

/// <summary>How to load a pipeline: which stages will run, the environment, the output override.</summary>
public sealed record PipelineLoadOptions
{
    /// <summary>Stages asked for (<c>--only</c>); a stage runs when it is asked for and its section is present.</summary>
    public IReadOnlySet<RunStage> Stages { get; init; } = new HashSet<RunStage> { RunStage.Optimize, RunStage.Build, RunStage.Validate };

    /// <summary>Environment lookup for <c>${NAME}</c>; the process environment by default.</summary>
    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;

    /// <summary>Check that input files exist (models, latents, trtexec) for the stages that will run.</summary>
    public bool CheckFiles { get; init; } = true;

    /// <summary>Output folder from <c>--out</c>; overrides <c>reports.dir</c>.</summary>
    public string? OutDirectory { get; init; }

    /// <summary>Base of the default output folder (<c>forge-out/NAME</c>, or <c>$FORGE_OUT/NAME</c>).</summary>
    public string WorkingDirectory { get; init; } = System.Environment.CurrentDirectory;

    /// <summary>Pass and rule names; null: <see cref="PassCatalog"/>.</summary>
    public PassCatalog? Passes { get; init; }
}

/// <summary>A validated pipeline, resolved: absolute paths, configs merged, environment expanded.</summary>
public sealed record LoadedPipeline
{
    public required string File { get; init; }

    public required string Name { get; init; }

    public required PipelineSpec Spec { get; init; }

    /// <summary>The artifact folder (absolute).</summary>
    public required string OutDirectory { get; init; }

    /// <summary>The stages that will run, in order.</summary>
    public required IReadOnlyList<RunStage> Stages { get; init; }

    /// <summary>trtexec as found (absolute path) when the build stage runs.</summary>
    public string? Trtexec { get; init; }

    /// <summary>Config files merged in through <c>use:</c>.</summary>
    public required IReadOnlyList<string> ConfigFiles { get; init; }

    /// <summary>Where each value was written (key path → place).</summary>
    public required IReadOnlyDictionary<string, SourceMark> Marks { get; init; }
}

/// <summary>
/// Reads, resolves and validates a pipeline file. Every problem (YAML syntax, unknown key, wrong type,
/// bad shape or enum, unknown pass, missing file) is collected with its place, and all of them are thrown
/// at once in a <see cref="PipelineValidationException"/> before anything runs.
/// </summary>
public static partial class PipelineLoader
{
    public static LoadedPipeline Load(string path, PipelineLoadOptions? options = null)
    {
        options ??= new PipelineLoadOptions();
        var file = Path.GetFullPath(path);
        var errors = new List<PipelineError>();
        if (!System.IO.File.Exists(file))
        {
            throw new PipelineValidationException([new PipelineError(new SourceMark(file, 1, 1), "pipeline file not found")]);
        }

        var loader = new YamlSourceLoader(options.Environment, errors);
        var root = loader.Load(file);
        if (root is null)
        {
            throw new PipelineValidationException(Sorted(errors, file));
        }

        var binder = new SpecBinder(errors);
        var spec = binder.Bind<PipelineSpec>(root);
        if (spec is null || spec.Model is null)
        {
            throw new PipelineValidationException(Sorted(errors, file));
        }

        var check = new Checker(spec, binder.Marks, errors, root.Mark, options);
        var stages = check.Stages();
        var trtexec = check.Run(stages);
        if (errors.Count > 0)
        {
            throw new PipelineValidationException(Sorted(errors, file));
        }

        var name = spec.Name ?? Path.GetFileNameWithoutExtension(file);
        var outDir = options.OutDirectory is { } o ? Path.GetFullPath(o, options.WorkingDirectory)
            : spec.Reports.Dir?.FullPath
              ?? Path.Combine(Path.GetFullPath(options.Environment("FORGE_OUT") is { Length: > 0 } env ? env : "forge-out", options.WorkingDirectory), name);
        return new LoadedPipeline
        {
            File = file,
            Name = name,
            Spec = spec,
            OutDirectory = outDir,
            Stages = stages,
            Trtexec = trtexec,
            ConfigFiles = [.. loader.FilesRead.Where(f => f != file)],
            Marks = binder.Marks,
        };
    }

    /// <summary>
    /// Errors of the pipeline file first, then of each config, each by line and column; one per place
    /// (the first: an unset variable, not the empty path it leaves behind).
    /// </summary>
    private static List<PipelineError> Sorted(List<PipelineError> errors, string file) =>
        [.. errors.DistinctBy(e => e.Where).OrderBy(e => e.Where.File == file ? 0 : 1).ThenBy(e => e.Where.File, StringComparer.Ordinal)
            .ThenBy(e => e.Where.Line).ThenBy(e => e.Where.Column)];

    private sealed class Checker(PipelineSpec spec, IReadOnlyDictionary<string, SourceMark> marks, List<PipelineError> errors, SourceMark root, PipelineLoadOptions options)
    {
        private readonly PassCatalog _passes = options.Passes ?? PassCatalog.Default;

        public List<RunStage> Stages()
        {
            var stages = new List<RunStage>();
            if (spec.Optimize is not null && options.Stages.Contains(RunStage.Optimize))
            {
                stages.Add(RunStage.Optimize);
            }

            if (spec.Build is not null && options.Stages.Contains(RunStage.Build))
            {
                stages.Add(RunStage.Build);
            }

            if (spec.Validate is not null && options.Stages.Contains(RunStage.Validate))
            {
                stages.Add(RunStage.Validate);
            }

            return stages;
        }

        public string? Run(List<RunStage> stages)
        {
            if (spec.Version != 1)
            {
                Error("version", $"version: only schema version 1 exists, got {spec.Version}");
            }

            File(spec.Model, "model");
            if (spec.Optimize is { } optimize)
            {
                CheckOptimize(optimize, stages.Contains(RunStage.Optimize));
            }

            string? trtexec = null;
            if (spec.Build is { } build)
            {
                // The validate stage runs an engine candidate through trtexec too.
                var engineValidation = spec.Validate is { } v && stages.Contains(RunStage.Validate) && (v.Candidate ?? CandidateKind.Engine) == CandidateKind.Engine;
                trtexec = CheckBuild(build, stages.Contains(RunStage.Build) || engineValidation);
            }

            if (spec.Validate is { } validate)
            {
                CheckValidate(validate, stages.Contains(RunStage.Validate));
            }

            if (stages.Count == 0)
            {
                var asked = string.Join(", ", options.Stages.Order().Select(st => st.ToString().ToLowerInvariant()));
                Error(root, $"nothing to run: the pipeline has no section for the stages asked for ({asked}); add optimize, build or validate");
            }

            if (spec.Reports.Formats.Count == 0)
            {
                Error("reports.formats", "reports.formats: name at least one of json, md, junit");
            }

            return trtexec;
        }

        private void CheckOptimize(OptimizeSpec optimize, bool runs)
        {
            for (var i = 0; i < (optimize.Rules?.Count ?? 0); i++)
            {
                var rule = optimize.Rules![i];
                if (!_passes.Rules.Contains(rule.Name))
                {
                    Error(rule.Mark, $"optimize.rules[{i}]: unknown rewrite rule '{rule.Name}'{SpecBinder.Suggest(rule.Name, _passes.Rules)}; known rules: {string.Join(", ", _passes.Rules)}");
                }
                else if (rule.Options.Count > 0)
                {
                    Error(rule.Mark, $"optimize.rules[{i}]: rewrite rule '{rule.Name}' takes no options");
                }
            }

            for (var i = 0; i < (optimize.Passes?.Count ?? 0); i++)
            {
                var pass = optimize.Passes![i];
                if (!_passes.Passes.Contains(pass.Name))
                {
                    var hint = _passes.Rules.Contains(pass.Name) ? $" ('{pass.Name}' is a rewrite rule: list it under optimize.rules)"
                        : pass.Name == PassCatalog.Fp16Pass ? " (use the optimize.fp16 section)"
                        : SpecBinder.Suggest(pass.Name, _passes.Passes);
                    Error(pass.Mark, $"optimize.passes[{i}]: unknown pass '{pass.Name}'{hint}; known passes: {string.Join(", ", _passes.Passes)}");
                    continue;
                }

                foreach (var (key, value) in pass.Options)
                {
                    var where = marks.GetValueOrDefault($"optimize.passes[{i}].{pass.Name}.{key}") ?? pass.Mark;
                    var known = PassCatalog.OptionsOf(pass.Name);
                    if (!known.TryGetValue(key, out var kind))
                    {
                        Error(where, $"optimize.passes[{i}]: pass '{pass.Name}' has no option '{key}'{SpecBinder.Suggest(key, known.Keys)}" +
                            (known.Count == 0 ? "; it takes none" : "; its options: " + string.Join(", ", known.Keys)));
                    }
                    else if (kind == PassOptionKind.Size && !ByteSize.TryParse(value, out _))
                    {
                        Error(where, $"optimize.passes[{i}].{pass.Name}.{key}: bad size '{value}': write MiB (16) or a number with K, M or G (1M)");
                    }
                    else if (kind == PassOptionKind.Count && (!int.TryParse(value, out var n) || n < 1))
                    {
                        Error(where, $"optimize.passes[{i}].{pass.Name}.{key}: expected a positive integer, got '{value}'");
                    }
                }
            }

            if (optimize.CheckTolerance is <= 0 or >= 1)
            {
                Error("optimize.check-tolerance", $"optimize.check-tolerance: expected a relative L2 in (0, 1), got {optimize.CheckTolerance}");
            }

            FileName(optimize.Output, "optimize.output");
            if (optimize.Fp16 is { } fp16)
            {
                FileName(fp16.Output, "optimize.fp16.output");
                if (fp16.CheckTolerance is <= 0 or >= 1)
                {
                    Error("optimize.fp16.check-tolerance", $"optimize.fp16.check-tolerance: expected a relative L2 in (0, 1), got {fp16.CheckTolerance}");
                }

                if (fp16.Output == optimize.Output)
                {
                    Error("optimize.fp16.output", $"optimize.fp16.output: '{fp16.Output}' is also optimize.output");
                }
            }

            _ = runs;
        }

        private string? CheckBuild(BuildSpec build, bool runs)
        {
            if (build.Version is { } version && !VersionPattern().IsMatch(version))
            {
                Error("build.version", $"build.version: expected a TensorRT version like 10.8 or 8.6.1, got '{version}'");
            }

            if (build.OptLevel is < 0 or > 5)
            {
                Error("build.opt-level", $"build.opt-level: builder optimization level is 0..5, got {build.OptLevel}");
            }

            for (var i = 0; i < build.Flags.Count; i++)
            {
                if (!build.Flags[i].StartsWith("--", StringComparison.Ordinal) || build.Flags[i].Length < 3 || build.Flags[i].Any(char.IsWhiteSpace))
                {
                    Error($"build.flags[{i}]", $"build.flags[{i}]: a trtexec flag is one word starting with --, like --useCudaGraph or --avgTiming=8; got '{build.Flags[i]}'");
                }
            }

            if (build.Precision != Precision.Fp32 && build.Version is { } v && v.StartsWith("11", StringComparison.Ordinal) && spec.Optimize?.Fp16 is null)
            {
                Error("build.precision", $"build.precision: TensorRT {v} has no --fp16/--bf16 (networks are strongly typed): add an optimize.fp16 section so the model itself is {Enum(build.Precision)}, or set precision: fp32");
            }

            FileName(build.Engine, "build.engine");
            if (runs)
            {
                CheckProfiles(build);
            }

            return runs ? Trtexec(build) : null;
        }

        /// <summary>Profiles name inputs of the model, with its rank and its fixed dimensions.</summary>
        private void CheckProfiles(BuildSpec build)
        {
            if (build.Profiles.Count == 0 || !options.CheckFiles || !System.IO.File.Exists(spec.Model.FullPath))
            {
                return;
            }

            Dictionary<string, long?[]> inputs;
            try
            {
                using var model = OnnxReader.Load(spec.Model.FullPath);
                inputs = model.Graph.Inputs.Where(v => !v.IsInitializer)
                    .ToDictionary(v => v.Name, v => v.Type?.Shape?.Select(d => d.Value).ToArray() ?? [], StringComparer.Ordinal);
            }
            catch (ForgeInputException e)
            {
                Error(spec.Model.Mark, $"model: {e.Message}");
                return;
            }

            foreach (var (name, profile) in build.Profiles)
            {
                var key = "build.profiles." + name;
                if (!inputs.TryGetValue(name, out var dims))
                {
                    Error(marks.GetValueOrDefault(key) ?? profile.Mark, $"{key}: the model has no input '{name}'{SpecBinder.Suggest(name, inputs.Keys)}; its inputs: {string.Join(", ", inputs.Keys)}");
                    continue;
                }

                if (dims.Length > 0 && dims.Length != profile.Min.Dims.Count)
                {
                    Error(marks.GetValueOrDefault(key) ?? profile.Mark, $"{key}: input '{name}' has rank {dims.Length} ({Dims(dims)}), the profile rank {profile.Min.Dims.Count}");
                    continue;
                }

                for (var d = 0; d < dims.Length; d++)
                {
                    if (dims[d] is { } fixedDim && (profile.Min.Dims[d] != fixedDim || profile.Max.Dims[d] != fixedDim))
                    {
                        Error(marks.GetValueOrDefault(key) ?? profile.Mark, $"{key}: dimension {d} of input '{name}' is fixed at {fixedDim} in the model ({Dims(dims)}); the profile asks {profile.Min.Dims[d]}..{profile.Max.Dims[d]}");
                        break;
                    }
                }
            }
        }

        private static string Dims(long?[] dims) => string.Join('x', dims.Select(d => d?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"));

        private string? Trtexec(BuildSpec build)
        {
            var written = build.Trtexec.Trim();
            var mark = marks.GetValueOrDefault("build.trtexec");
            if (written.Contains('/', StringComparison.Ordinal) || written.StartsWith('~'))
            {
                var full = PathText.Resolve(written, Path.GetDirectoryName(mark?.File ?? root.File)!);
                if (options.CheckFiles && !System.IO.File.Exists(full))
                {
                    Error(mark ?? spec.Build!.Mark, $"build.trtexec: {full} does not exist");
                }

                return full;
            }

            foreach (var dir in (options.Environment("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                var candidate = Path.Combine(dir, written);
                if (System.IO.File.Exists(candidate))
                {
                    return candidate;
                }
            }

            if (options.CheckFiles)
            {
                Error(mark ?? spec.Build!.Mark, $"build.trtexec: '{written}' is not on PATH; install TensorRT or set build.trtexec to its path (e.g. ${{TRTEXEC:-/usr/src/tensorrt/bin/trtexec}})");
            }

            return written;
        }

        private void CheckValidate(ValidateSpec validate, bool runs)
        {
            if (validate.Steps is < 1 or > 1000)
            {
                Error("validate.steps", $"validate.steps: expected 1..1000, got {validate.Steps}");
            }

            if (validate.Seed < 0)
            {
                Error("validate.seed", $"validate.seed: expected a seed ≥ 0, got {validate.Seed}");
            }

            if (validate.DeviceId < 0 || validate.Threads < 0)
            {
                Error(validate.DeviceId < 0 ? "validate.device-id" : "validate.threads", "validate: device-id and threads are ≥ 0");
            }

            if (validate.Eta < 0)
            {
                Error("validate.eta", $"validate.eta: expected eta ≥ 0, got {validate.Eta}");
            }

            if (validate.Guidance < 0)
            {
                Error("validate.guidance", $"validate.guidance: expected a scale ≥ 0 (1 = no guidance), got {validate.Guidance}");
            }

            if (validate.Candidate == CandidateKind.Engine && spec.Build is null)
            {
                Error("validate.candidate", "validate.candidate: 'engine' needs a build section");
            }

            if (spec.Optimize is null && spec.Build is null && (validate.Reference is null || validate.Reference.FullPath == spec.Model.FullPath))
            {
                Error(validate.Mark, "validate: nothing to compare: the candidate would be the reference model itself (add an optimize or build section, or a different validate.reference)");
            }

            var t = validate.Tolerance;
            Positive(t.NoiseRelL2, "validate.tolerance.noise-rel-l2");
            Positive(t.LatentsRelL2, "validate.tolerance.latents-rel-l2");
            Positive(t.MaxAbs, "validate.tolerance.max-abs");
            Positive(t.MinPsnr, "validate.tolerance.min-psnr");
            if (t.MinCosine is <= 0 or > 1)
            {
                Error("validate.tolerance.min-cosine", $"validate.tolerance.min-cosine: expected a cosine similarity in (0, 1], got {t.MinCosine}");
            }

            if (t.MinPsnr is not null && validate.Decoder is null)
            {
                Error("validate.tolerance.min-psnr", "validate.tolerance.min-psnr: a PSNR needs validate.decoder (the VAE decoder that makes the images)");
            }

            FileName(validate.Image, "validate.image");
            if (runs)
            {
                File(validate.Reference, "validate.reference");
                File(validate.Latents, "validate.latents");
                File(validate.Embeddings, "validate.embeddings");
                File(validate.Decoder, "validate.decoder");
            }
        }

        private void Positive(double? value, string path)
        {
            if (value is <= 0)
            {
                Error(path, $"{path}: expected a positive number, got {value}");
            }
        }

        private void File(FilePath? path, string key)
        {
            if (path is not null && options.CheckFiles && !System.IO.File.Exists(path.FullPath))
            {
                Error(path.Mark, Directory.Exists(path.FullPath)
                    ? $"{key}: {path.FullPath} is a directory, expected a file"
                    : $"{key}: file not found: {path.FullPath} (written '{path.Written}', relative to {Path.GetDirectoryName(path.Mark.File)})");
            }
        }

        private void FileName(string name, string key)
        {
            if (name.Length == 0 || Path.IsPathRooted(name) || name.Split('/', '\\').Any(p => p is ".." or ""))
            {
                Error(key, $"{key}: a file name inside the output folder, got '{name}'");
            }
        }

        private void Error(string key, string message) => Error(marks.GetValueOrDefault(key), message);

        private void Error(SourceMark? where, string message) => errors.Add(new PipelineError(where ?? root, message));

        private static string Enum(object value) => SpecBinder.EnumName(value);
    }

    [GeneratedRegex(@"^\d+(\.\d+){0,3}$")]
    private static partial Regex VersionPattern();
}
