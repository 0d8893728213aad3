using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using OnnxTrtForge.Pipelines.Spec;

namespace OnnxTrtForge.Pipelines.Yaml;

/// <summary>
/// Every record, enum, list and map type the YAML binder fills, registered by <c>typeof</c> through generic
/// methods whose type parameter says which members reflection needs: the trimmer sees them and keeps those
/// constructors, properties and fields, so a trimmed publish binds YAML exactly as a normal build does.
/// A spec type not listed here fails binding with an <see cref="InvalidOperationException"/> naming it
/// (and <c>SpecTypesTests</c> walks <see cref="PipelineSpec"/> to catch that before anyone runs it).
/// </summary>
public static class SpecTypes
{
    private const DynamicallyAccessedMemberTypes RecordMembers =
        DynamicallyAccessedMemberTypes.PublicParameterlessConstructor | DynamicallyAccessedMemberTypes.PublicProperties;

    private static readonly Dictionary<Type, SpecRecord> Records = new SpecRecord[]
    {
        Record<PipelineSpec>(), Record<OptimizeSpec>(), Record<Fp16Spec>(), Record<BuildSpec>(), Record<CacheSpec>(),
        Record<ValidateSpec>(), Record<ToleranceSpec>(), Record<ReportsSpec>(),
    }.ToDictionary(r => r.Type);

    private static readonly Dictionary<Type, SpecEnum> Enums = new SpecEnum[]
    {
        Enum<FloatTarget>(), Enum<Precision>(), Enum<SchedulerKind>(), Enum<LoopSemantics>(), Enum<TimestepSpacingKind>(),
        Enum<CandidateKind>(), Enum<ComputeDevice>(), Enum<ReportFormat>(), Enum<TargetRuntime>(),
    }.ToDictionary(e => e.Type);

    private static readonly Dictionary<Type, Func<IEnumerable<object>, object>> Lists = new()
    {
        [typeof(string)] = ListOf<string>,
        [typeof(PassSpec)] = ListOf<PassSpec>,
        [typeof(ReportFormat)] = ListOf<ReportFormat>,
    };

    private static readonly Dictionary<Type, Func<IEnumerable<KeyValuePair<string, object>>, object>> Maps = new()
    {
        [typeof(string)] = MapOf<string>,
        [typeof(TensorShape)] = MapOf<TensorShape>,
        [typeof(ShapeProfile)] = MapOf<ShapeProfile>,
    };

    /// <summary>The record types bound from YAML mappings.</summary>
    public static IEnumerable<Type> RecordTypes => Records.Keys;

    /// <summary>The enum types bound from YAML scalars.</summary>
    public static IEnumerable<Type> EnumTypes => Enums.Keys;

    /// <summary>The element types of <c>IReadOnlyList&lt;T&gt;</c> and value types of <c>IReadOnlyDictionary&lt;string, T&gt;</c> properties.</summary>
    public static IEnumerable<Type> ListElementTypes => Lists.Keys;

    public static IEnumerable<Type> MapValueTypes => Maps.Keys;

    public static SpecRecord RecordOf(Type type) =>
        Records.TryGetValue(type, out var record) ? record : throw Unregistered(type, "Record<T>");

    public static SpecEnum EnumOf(Type type) =>
        Enums.TryGetValue(type, out var e) ? e : throw Unregistered(type, "Enum<T>");

    public static object NewList(Type element, IEnumerable<object> items) =>
        Lists.TryGetValue(element, out var make) ? make(items) : throw Unregistered(element, "a list element");

    public static object NewMap(Type value, IEnumerable<KeyValuePair<string, object>> entries) =>
        Maps.TryGetValue(value, out var make) ? make(entries) : throw Unregistered(value, "a map value");

    private static InvalidOperationException Unregistered(Type type, string as_) =>
        new($"spec type {type.Name} is not registered in SpecTypes (add it as {as_})");

    private static SpecRecord Record<[DynamicallyAccessedMembers(RecordMembers)] T>()
        where T : class
    {
        var properties = typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.GetCustomAttribute<YamlIgnoreAttribute>() is null)
            .OrderBy(p => p.MetadataToken)
            .ToList();
        return new SpecRecord(typeof(T), () => Activator.CreateInstance<T>(), properties, typeof(T).GetProperty("Mark"));
    }

    private static SpecEnum Enum<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicFields)] T>()
        where T : struct, Enum =>
        new(typeof(T), [.. typeof(T).GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (SpecBinder.KeyOf(f), f.GetValue(null)!))]);

    private static object ListOf<T>(IEnumerable<object> items) => items.Cast<T>().ToList();

    private static object MapOf<T>(IEnumerable<KeyValuePair<string, object>> entries)
    {
        var map = new Dictionary<string, T>(StringComparer.Ordinal);
        foreach (var (key, value) in entries)
        {
            map[key] = (T)value;
        }

        return map;
    }
}

/// <summary>A spec record: how to make one, the properties bound from YAML keys in declaration order, its source mark.</summary>
public sealed record SpecRecord(Type Type, Func<object> Create, IReadOnlyList<PropertyInfo> Properties, PropertyInfo? Mark);

/// <summary>A spec enum: its YAML spellings in declaration order.</summary>
public sealed record SpecEnum(Type Type, IReadOnlyList<(string Name, object Value)> Names);
