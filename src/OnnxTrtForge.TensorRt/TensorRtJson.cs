using System.Text.Json.Serialization;
using OnnxTrtForge.Core.Reports;

namespace OnnxTrtForge.TensorRt;

/// <summary>The TensorRt project's JSON types (engine cache entries, build and bench reports), source-generated.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(EngineCacheEntry))]
[JsonSerializable(typeof(BuildReport))]
[JsonSerializable(typeof(BenchReport))]
public sealed partial class TensorRtJson : JsonSerializerContext
{
    /// <summary>The context on <see cref="ReportJson.CreateOptions"/>.</summary>
    public static TensorRtJson Reports { get; } = new(ReportJson.CreateOptions());
}
