using OnnxTrtForge.Pipelines.Yaml;

namespace OnnxTrtForge.Pipelines.Spec;

/// <summary>
/// One pipeline file: the model and what to do with it. YAML keys are the kebab-case property names
/// (<c>opt-level</c>, <c>keep-io-types</c>); a section that is absent is a stage that does not run.
/// </summary>
public sealed record PipelineSpec
{
    /// <summary>Schema version; only 1 exists.</summary>
    public int Version { get; init; } = 1;

    /// <summary>Name used in reports and the default output folder; defaults to the file's name.</summary>
    public string? Name { get; init; }

    /// <summary>The exported ONNX model, relative to the pipeline file.</summary>
    public required FilePath Model { get; init; }

    public OptimizeSpec? Optimize { get; init; }

    public BuildSpec? Build { get; init; }

    public ValidateSpec? Validate { get; init; }

    public ReportsSpec Reports { get; init; } = new();

    [YamlIgnore]
    public SourceMark? Mark { get; init; }
}

/// <summary>The optimize stage (<c>forge optimize</c>), then the optional fp16 conversion.</summary>
public sealed record OptimizeSpec
{
    /// <summary>Rewrite rules to apply (kebab-case names), e.g. <c>aten-broadcast-to-expand</c>; null: all of them.</summary>
    public IReadOnlyList<PassSpec>? Rules { get; init; }

    /// <summary>Explicit pass list; null runs the default pipeline.</summary>
    public IReadOnlyList<PassSpec>? Passes { get; init; }

    /// <summary>
    /// Static shapes for dynamic-axis inputs (<c>input-name: 2x4x64x64</c>), pinned before optimizing so
    /// their shape math folds (the <c>fix-input-shapes</c> pass).
    /// </summary>
    public IReadOnlyDictionary<string, TensorShape>? InputShapes { get; init; }

    /// <summary>The runtime to prepare for (<c>forge optimize --target</c>): portable, tensorrt or ort-cuda.</summary>
    public TargetRuntime Target { get; init; } = TargetRuntime.Portable;

    /// <summary>fp16 (or bf16) conversion after optimizing; absent or <c>false</c>: none.</summary>
    public Fp16Spec? Fp16 { get; init; }

    /// <summary>Run original and optimized model in ONNX Runtime and gate on their difference.</summary>
    public bool Check { get; init; } = true;

    /// <summary>Relative L2 allowed by the check; null: 1e-5 for fp32 models, 2e-3 for fp16.</summary>
    public double? CheckTolerance { get; init; }

    /// <summary>File name of the optimized model in the output folder.</summary>
    public string Output { get; init; } = "model.optimized.onnx";

    [YamlIgnore]
    public SourceMark? Mark { get; init; }
}

/// <summary>A pass or rewrite rule by name, with options passed through to it.</summary>
public sealed record PassSpec
{
    public required string Name { get; init; }

    public IReadOnlyDictionary<string, string> Options { get; init; } = new Dictionary<string, string>();

    [YamlIgnore]
    public SourceMark? Mark { get; init; }
}

/// <summary>The optimize stage's target (Core's OptimizeTarget, spelled as in YAML).</summary>
public enum TargetRuntime
{
    Portable,
    [YamlName("tensorrt")]
    TensorRt,
    OrtCuda,
}

public enum FloatTarget
{
    Fp16,
    Bf16,
}

/// <summary>Options of the <c>to-fp16</c> pass. <c>fp16: true</c> takes all defaults.</summary>
public sealed record Fp16Spec
{
    public FloatTarget To { get; init; } = FloatTarget.Fp16;

    /// <summary>Graph inputs and outputs keep their types (Casts at the edges).</summary>
    public bool KeepIoTypes { get; init; } = true;

    /// <summary>Op types kept in fp32; null: the pass's default list.</summary>
    public IReadOnlyList<string>? OpBlockList { get; init; }

    /// <summary>Node names kept in fp32.</summary>
    public IReadOnlyList<string> NodeBlockList { get; init; } = [];

    /// <summary>Clamp initializers beyond the fp16 range instead of keeping them fp32.</summary>
    public bool Clamp { get; init; }

    /// <summary>Relative L2 allowed between the converted model and the optimized one in ONNX Runtime (issue 6: 1e-2).</summary>
    public double CheckTolerance { get; init; } = 1e-2;

    /// <summary>File name of the converted model in the output folder.</summary>
    public string Output { get; init; } = "model.fp16.onnx";

    [YamlIgnore]
    public SourceMark? Mark { get; init; }
}

public enum Precision
{
    Fp32,
    Fp16,
    Bf16,
}

/// <summary>The engine build through trtexec (<c>forge build</c>).</summary>
public sealed record BuildSpec
{
    /// <summary>trtexec: a path (relative to the file) or a command name looked up on PATH.</summary>
    public string Trtexec { get; init; } = "trtexec";

    /// <summary>TensorRT version hint ("8.6", "10.8", "11.0"); null: read from trtexec's banner.</summary>
    public string? Version { get; init; }

    public Precision Precision { get; init; } = Precision.Fp16;

    /// <summary>Shape profile per input name: <c>{min: 2x4x64x64, opt: ..., max: ...}</c> or one shape.</summary>
    public IReadOnlyDictionary<string, ShapeProfile> Profiles { get; init; } = new Dictionary<string, ShapeProfile>();

    /// <summary>Workspace pool: a number of MiB or a size with unit (<c>4G</c>, <c>512M</c>).</summary>
    public ByteSize? Workspace { get; init; }

    /// <summary>Builder optimization level 0..5.</summary>
    public int? OptLevel { get; init; }

    /// <summary>Extra raw trtexec flags, each starting with <c>--</c>.</summary>
    public IReadOnlyList<string> Flags { get; init; } = [];

    public bool Refit { get; init; }

    public bool VersionCompatible { get; init; }

    public CacheSpec Cache { get; init; } = new();

    /// <summary>Build timeout (<c>90s</c>, <c>15m</c>, <c>1h</c>); null: none.</summary>
    public Duration? Timeout { get; init; }

    /// <summary>File name of the engine in the output folder.</summary>
    public string Engine { get; init; } = "model.engine";

    [YamlIgnore]
    public SourceMark? Mark { get; init; }
}

public sealed record CacheSpec
{
    /// <summary>Look engines up by content and store new ones; false: always build, store nothing.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Engine and timing cache folder; null: <c>$XDG_CACHE_HOME/forge</c> or <c>~/.cache/forge</c>.</summary>
    public FilePath? Dir { get; init; }

    /// <summary>An explicit timing cache file; null: one per TensorRT version and GPU inside the cache folder.</summary>
    public FilePath? TimingCache { get; init; }

    /// <summary>Rebuild even when the engine cache has this build.</summary>
    public bool Force { get; init; }

    [YamlIgnore]
    public SourceMark? Mark { get; init; }
}

public enum SchedulerKind
{
    Lms,
    Pndm,
    Ddim,
    Euler,
    [YamlName("euler-a")]
    EulerAncestral,
    [YamlName("dpmpp-2m")]
    DpmSolverPlusPlus2M,
}

public enum LoopSemantics
{
    [YamlName("v0.2.4")]
    V024,
    Current,
}

public enum TimestepSpacingKind
{
    Linspace,
    Leading,
    Trailing,
}

public enum CandidateKind
{
    Engine,
    Optimized,
}

public enum ComputeDevice
{
    Cpu,
    Cuda,
}

/// <summary>The numeric gate (<c>forge validate</c>): reference and candidate in the same seeded loop.</summary>
public sealed record ValidateSpec
{
    /// <summary>Reference model; null: the pipeline's model.</summary>
    public FilePath? Reference { get; init; }

    /// <summary>What is compared to the reference; null: the engine if the build stage runs, else the optimized model.</summary>
    public CandidateKind? Candidate { get; init; }

    public SchedulerKind Scheduler { get; init; } = SchedulerKind.Lms;

    public bool Karras { get; init; }

    /// <summary>Scheduler semantics; null: v0.2.4 (the article's diffusers) for lms/pndm/ddim, current for the others.</summary>
    public LoopSemantics? Semantics { get; init; }

    /// <summary>Current semantics: diffusers' <c>timestep_spacing</c>; null: the scheduler's default.</summary>
    public TimestepSpacingKind? TimestepSpacing { get; init; }

    /// <summary>Current semantics: diffusers' <c>steps_offset</c>; null: 0 (Stable Diffusion's configs say 1).</summary>
    public int? StepsOffset { get; init; }

    /// <summary>DDIM eta (&gt; 0 adds seeded noise).</summary>
    public double Eta { get; init; }

    public int Steps { get; init; } = 50;

    public double Guidance { get; init; } = 7.5;

    public long Seed { get; init; }

    /// <summary>Initial latents (TensorProto .pb); null: seeded random.</summary>
    public FilePath? Latents { get; init; }

    /// <summary>Text embeddings (TensorProto .pb, row 0 unconditional); null: seeded random.</summary>
    public FilePath? Embeddings { get; init; }

    public ToleranceSpec Tolerance { get; init; } = new();

    /// <summary>VAE decoder for the comparison picture; null: no image.</summary>
    public FilePath? Decoder { get; init; }

    /// <summary>File name of the comparison picture in the output folder.</summary>
    public string Image { get; init; } = "validation.png";

    public ComputeDevice Device { get; init; } = ComputeDevice.Cpu;

    /// <summary>CUDA device ordinal.</summary>
    public int DeviceId { get; init; }

    /// <summary>ONNX Runtime intra-op threads; 0: its default.</summary>
    public int Threads { get; init; }

    /// <summary>CUDA only: allow TF32 in convolutions and matrix products (off: the reference stays fp32).</summary>
    public bool Tf32 { get; init; }

    [YamlIgnore]
    public SourceMark? Mark { get; init; }
}

/// <summary>Limits of the numeric gate; a null limit is not checked (the validator's default applies).</summary>
public sealed record ToleranceSpec
{
    /// <summary>Relative L2 of the noise prediction, every step.</summary>
    public double? NoiseRelL2 { get; init; }

    /// <summary>Relative L2 of the final latents.</summary>
    public double? LatentsRelL2 { get; init; }

    /// <summary>Largest absolute error of the noise prediction.</summary>
    public double? MaxAbs { get; init; }

    /// <summary>Smallest cosine similarity of the noise prediction.</summary>
    public double? MinCosine { get; init; }

    /// <summary>Smallest PSNR (dB) of the decoded image.</summary>
    public double? MinPsnr { get; init; }

    [YamlIgnore]
    public SourceMark? Mark { get; init; }
}

public enum ReportFormat
{
    Json,
    Md,
    Junit,
}

public sealed record ReportsSpec
{
    /// <summary>The artifact folder; null: <c>forge-out/NAME</c> under the working directory. <c>--out</c> overrides.</summary>
    public FilePath? Dir { get; init; }

    public IReadOnlyList<ReportFormat> Formats { get; init; } = [ReportFormat.Json, ReportFormat.Md, ReportFormat.Junit];

    /// <summary>Append report.md to <c>$GITHUB_STEP_SUMMARY</c> when that variable is set.</summary>
    public bool StepSummary { get; init; } = true;

    [YamlIgnore]
    public SourceMark? Mark { get; init; }
}
