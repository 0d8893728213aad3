using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace OnnxTrtForge.Core.Reports;

/// <summary>
/// The one JSON style of every forge report: camelCase, indented, enums as kebab-case strings. Every type
/// written or read goes through a source-generated <see cref="JsonSerializerContext"/> of its project
/// (<see cref="CoreJson"/>, TensorRtJson, ValidationJson, PipelinesJson), so a trimmed publish keeps what
/// it needs without reflection.
/// </summary>
public static class ReportJson
{
    /// <summary>Fresh options in forge's style; a context built on them becomes their resolver.</summary>
    public static JsonSerializerOptions CreateOptions() => new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string Serialize<T>(T value, JsonTypeInfo<T> typeInfo) => JsonSerializer.Serialize(value, typeInfo);

    /// <summary>Serializes by the value's runtime type, which <paramref name="context"/> must know.</summary>
    public static string Serialize(object value, JsonSerializerContext context) => JsonSerializer.Serialize(value, value.GetType(), context);
}

/// <summary>Core's report types, for <see cref="ReportJson"/>.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(Passes.OptimizeReport))]
[JsonSerializable(typeof(ModelSummary))]
public sealed partial class CoreJson : JsonSerializerContext
{
    /// <summary>The context on <see cref="ReportJson.CreateOptions"/>.</summary>
    public static CoreJson Reports { get; } = new(ReportJson.CreateOptions());
}
