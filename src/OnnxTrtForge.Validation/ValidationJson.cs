using System.Text.Json.Serialization;
using OnnxTrtForge.Core.Reports;

namespace OnnxTrtForge.Validation;

/// <summary>What <c>forge validate --report R.json</c> writes: the verdict, its one-line summary and every figure.</summary>
public sealed record ValidationReportDocument(bool Passed, string Summary, ValidationResult Result);

/// <summary>What <c>forge bench MODEL.onnx --report R.json</c> writes: the candidate/baseline ratios and every figure.</summary>
public sealed record OrtBenchReportDocument(string Kind, double? MedianRatio, double? MinRatio, OrtBenchResult Result);

/// <summary>The Validation project's JSON types, source-generated.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(ValidationReportDocument))]
[JsonSerializable(typeof(OptimizeCheckResult))]
[JsonSerializable(typeof(OrtBenchReportDocument))]
public sealed partial class ValidationJson : JsonSerializerContext
{
    /// <summary>The context on <see cref="ReportJson.CreateOptions"/>.</summary>
    public static ValidationJson Reports { get; } = new(ReportJson.CreateOptions());
}
