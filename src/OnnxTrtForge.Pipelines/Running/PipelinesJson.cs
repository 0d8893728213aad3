using System.Text.Json.Serialization;
using OnnxTrtForge.Core.Passes;
using OnnxTrtForge.Core.Reports;
using OnnxTrtForge.Validation;

namespace OnnxTrtForge.Pipelines.Running;

/// <summary>report.json's <c>details.fp16</c>: what to-fp16 did and the model after its cleanup.</summary>
public sealed record Fp16Details(bool Modified, IReadOnlyDictionary<string, long> Counters, IReadOnlyList<string> Notes, ModelStats After);

/// <summary>report.json's <c>details.build</c>: the engine build, success or failure.</summary>
public sealed record BuildDetails(
    string OnnxPath,
    string EnginePath,
    string TensorRt,
    string Trtexec,
    bool StandIn,
    string Gpu,
    string? CacheKey,
    IReadOnlyList<string> Arguments,
    string? LogPath,
    double ElapsedSeconds,
    bool? CacheHit,
    double? BuildSeconds,
    long? EngineBytes,
    string? Failure,
    IReadOnlyList<string> LogTail);

/// <summary>
/// report.json, source-generated. <see cref="PipelineRunResult.Details"/> holds values by their runtime type:
/// every type a stage puts there must be listed here (report.json of the pipeline tests fails on one that is not).
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(PipelineRunResult))]
[JsonSerializable(typeof(OptimizeReport))]
[JsonSerializable(typeof(OptimizeCheckResult))]
[JsonSerializable(typeof(Fp16Details))]
[JsonSerializable(typeof(BuildDetails))]
[JsonSerializable(typeof(ValidationResult))]
public sealed partial class PipelinesJson : JsonSerializerContext
{
    /// <summary>The context on <see cref="ReportJson.CreateOptions"/>.</summary>
    public static PipelinesJson Reports { get; } = new(ReportJson.CreateOptions());
}
