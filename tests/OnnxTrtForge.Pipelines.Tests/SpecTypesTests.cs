using System.Reflection;
using OnnxTrtForge.Pipelines.Spec;
using OnnxTrtForge.Pipelines.Yaml;

namespace OnnxTrtForge.Pipelines.Tests;

/// <summary>The binder's type registry covers every type reachable from <see cref="PipelineSpec"/>'s YAML keys.</summary>
public sealed class SpecTypesTests
{
    private static readonly HashSet<Type> Scalars =
        [typeof(string), typeof(int), typeof(long), typeof(double), typeof(bool), typeof(FilePath), typeof(TensorShape), typeof(ByteSize), typeof(Duration), typeof(ShapeProfile), typeof(PassSpec)];

    [Fact]
    public void Every_record_enum_list_and_map_type_of_the_spec_is_registered_for_the_trimmed_binder()
    {
        var missing = new List<string>();
        var seen = new HashSet<Type>();
        Walk(typeof(PipelineSpec), "", seen, missing);
        Assert.True(missing.Count == 0, "not registered in SpecTypes: " + string.Join("; ", missing));
    }

    private static void Walk(Type type, string path, HashSet<Type> seen, List<string> missing)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (t.IsEnum)
        {
            Check(SpecTypes.EnumTypes, t, path, missing);
            return;
        }

        if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
        {
            var element = t.GetGenericArguments()[0];
            Check(SpecTypes.ListElementTypes, element, path, missing);
            Walk(element, path + "[]", seen, missing);
            return;
        }

        if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>))
        {
            var value = t.GetGenericArguments()[1];
            Check(SpecTypes.MapValueTypes, value, path, missing);
            Walk(value, path + ".*", seen, missing);
            return;
        }

        if (Scalars.Contains(t) || !seen.Add(t))
        {
            return;
        }

        Check(SpecTypes.RecordTypes, t, path, missing);
        foreach (var property in t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                     .Where(p => p.CanWrite && p.GetCustomAttribute<YamlIgnoreAttribute>() is null))
        {
            Walk(property.PropertyType, path.Length == 0 ? SpecBinder.KeyOf(property) : path + "." + SpecBinder.KeyOf(property), seen, missing);
        }
    }

    private static void Check(IEnumerable<Type> registered, Type type, string path, List<string> missing)
    {
        if (!registered.Contains(type))
        {
            missing.Add($"{type.Name} (at '{path}')");
        }
    }

    [Fact]
    public void An_unregistered_type_is_named_when_binding_meets_it()
    {
        var e = Assert.Throws<InvalidOperationException>(() => SpecTypes.RecordOf(typeof(Uri)));
        Assert.Contains("Uri", e.Message);
    }
}
