using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using OnnxTrtForge.Pipelines.Spec;

namespace OnnxTrtForge.Pipelines.Yaml;

/// <summary>
/// Binds <see cref="SourceNode"/> trees to the spec records, strictly: unknown keys, wrong types,
/// bad enum values, bad shapes and missing required keys all become <see cref="PipelineError"/>s with
/// the place they were written, and binding goes on so that one run reports every problem. The mark of
/// every bound value is kept by its key path (<c>build.flags[1]</c>) for the checks that follow.
/// </summary>
public sealed class SpecBinder
{
    private readonly List<PipelineError> _errors;
    private readonly Dictionary<string, SourceMark> _marks = new(StringComparer.Ordinal);

    public SpecBinder(List<PipelineError> errors)
    {
        _errors = errors;
    }

    /// <summary>Where each bound value was written, by key path (<c>validate.steps</c>, <c>build.flags[0]</c>).</summary>
    public IReadOnlyDictionary<string, SourceMark> Marks => _marks;

    public T? Bind<T>(SourceNode node)
        where T : class => (T?)Bind(typeof(T), node, "");

    /// <summary>The YAML key of a property: its <see cref="YamlNameAttribute"/> or its name in kebab-case.</summary>
    public static string KeyOf(MemberInfo member) => member.GetCustomAttribute<YamlNameAttribute>()?.Name ?? Kebab(member.Name);

    public static string Kebab(string name)
    {
        var chars = new List<char>(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c) && i > 0 && (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1])))
            {
                chars.Add('-');
            }

            chars.Add(char.ToLowerInvariant(c));
        }

        return new string([.. chars]);
    }

    /// <summary>The YAML spellings of an enum's members, in declaration order.</summary>
    public static IReadOnlyList<(string Name, object Value)> EnumNames(Type type) => SpecTypes.EnumOf(type).Names;

    public static string EnumName(object value) =>
        EnumNames(value.GetType()).First(e => Equals(e.Value, value)).Name;

    /// <summary>The properties bound from YAML keys, in declaration order.</summary>
    public static IEnumerable<PropertyInfo> KeyProperties(Type type) => SpecTypes.RecordOf(type).Properties;

    private object? Bind(Type type, SourceNode node, string path)
    {
        _marks[path] = node.Mark;
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (t == typeof(string))
        {
            return Scalar(node, path, "a string")?.Value;
        }

        if (t == typeof(int) || t == typeof(long))
        {
            var s = Scalar(node, path, "an integer");
            if (s is null)
            {
                return null;
            }

            if (long.TryParse(s.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
                && (t == typeof(long) || n is >= int.MinValue and <= int.MaxValue))
            {
                return t == typeof(int) ? (object)(int)n : n;
            }

            return Fail(node, path, $"expected an integer, got '{s.Value}'");
        }

        if (t == typeof(double))
        {
            var s = Scalar(node, path, "a number");
            if (s is null)
            {
                return null;
            }

            return double.TryParse(s.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)
                ? d
                : Fail(node, path, $"expected a number, got '{s.Value}'");
        }

        if (t == typeof(bool))
        {
            var s = Scalar(node, path, "true or false");
            return s is null ? null
                : s.Value.Equals("true", StringComparison.OrdinalIgnoreCase) ? true
                : s.Value.Equals("false", StringComparison.OrdinalIgnoreCase) ? false
                : Fail(node, path, $"expected true or false, got '{s.Value}'");
        }

        if (t.IsEnum)
        {
            var s = Scalar(node, path, "one of " + string.Join(", ", EnumNames(t).Select(e => e.Name)));
            if (s is null)
            {
                return null;
            }

            var names = EnumNames(t);
            var hit = names.FirstOrDefault(e => e.Name.Equals(s.Value.Trim(), StringComparison.OrdinalIgnoreCase));
            return hit.Name is not null ? hit.Value
                : Fail(node, path, $"bad value '{s.Value}': expected one of {string.Join(", ", names.Select(e => e.Name))}{Suggest(s.Value, names.Select(e => e.Name))}");
        }

        if (t == typeof(FilePath))
        {
            var s = Scalar(node, path, "a path");
            return s is null ? null
                : s.Value.Trim().Length == 0 ? Fail(node, path, "expected a path, got an empty string")
                : new FilePath(s.Value, PathText.Resolve(s.Value, Path.GetDirectoryName(s.Mark.File)!), s.Mark);
        }

        if (t == typeof(TensorShape))
        {
            return Shape(node, path);
        }

        if (t == typeof(ByteSize))
        {
            var s = Scalar(node, path, "a size");
            return s is null ? null
                : ByteSize.TryParse(s.Value, out var size) ? size
                : Fail(node, path, $"bad size '{s.Value}': write MiB (4096) or a number with K, M or G (4G)");
        }

        if (t == typeof(Duration))
        {
            var s = Scalar(node, path, "a duration");
            return s is null ? null
                : Duration.TryParse(s.Value, out var duration) ? duration
                : Fail(node, path, $"bad duration '{s.Value}': write 500ms, 90s, 15m or 1h");
        }

        if (t == typeof(ShapeProfile))
        {
            return Profile(node, path);
        }

        if (t == typeof(PassSpec))
        {
            return Pass(node, path);
        }

        if (t == typeof(Fp16Spec) && node is ScalarNode { IsNull: false } flag)
        {
            var on = Bind(typeof(bool), flag, path);
            return on is true ? new Fp16Spec { Mark = flag.Mark } : null;
        }

        if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
        {
            return List(t.GetGenericArguments()[0], node, path);
        }

        if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>))
        {
            return Map(t.GetGenericArguments()[1], node, path);
        }

        return Record(t, node, path);
    }

    private object? Record(Type type, SourceNode node, string path)
    {
        if (node is not MappingNode map)
        {
            return Fail(node, path, $"expected a mapping, got {node.KindName}");
        }

        var record = SpecTypes.RecordOf(type);
        var result = record.Create();
        var properties = record.Properties.ToDictionary(KeyOf, StringComparer.Ordinal);
        foreach (var (key, value) in map.Entries)
        {
            var childPath = Join(path, key.Value);
            if (!properties.TryGetValue(key.Value, out var property))
            {
                _errors.Add(new PipelineError(key.Mark, $"unknown key '{childPath}'{Suggest(key.Value, properties.Keys)}; known keys{(path.Length == 0 ? "" : " of " + path)}: {string.Join(", ", properties.Keys)}"));
                continue;
            }

            if (value is ScalarNode { IsNull: true })
            {
                _marks[childPath] = value.Mark;
                continue;
            }

            var bound = Bind(property.PropertyType, value, childPath);
            if (bound is not null)
            {
                property.SetValue(result, bound);
            }
        }

        foreach (var (key, property) in properties)
        {
            if (property.GetCustomAttribute<RequiredMemberAttribute>() is not null
                && (map[key] is null or ScalarNode { IsNull: true }))
            {
                _errors.Add(new PipelineError(map[key]?.Mark ?? map.Mark, $"missing required key '{Join(path, key)}'"));
            }
        }

        record.Mark?.SetValue(result, map.Mark);
        return result;
    }

    private object? List(Type element, SourceNode node, string path)
    {
        if (node is not SequenceNode seq)
        {
            return Fail(node, path, $"expected a list, got {node.KindName}");
        }

        var items = new List<object>(seq.Items.Count);
        for (var i = 0; i < seq.Items.Count; i++)
        {
            var item = Bind(element, seq.Items[i], $"{path}[{i}]");
            if (item is not null)
            {
                items.Add(item);
            }
        }

        return SpecTypes.NewList(element, items);
    }

    private object? Map(Type element, SourceNode node, string path)
    {
        if (node is not MappingNode map)
        {
            return Fail(node, path, $"expected a mapping, got {node.KindName}");
        }

        var entries = new List<KeyValuePair<string, object>>(map.Entries.Count);
        foreach (var (key, value) in map.Entries)
        {
            var item = Bind(element, value, Join(path, key.Value));
            if (item is not null)
            {
                entries.Add(new(key.Value, item));
            }
        }

        return SpecTypes.NewMap(element, entries);
    }

    private TensorShape? Shape(SourceNode node, string path)
    {
        var s = Scalar(node, path, "a shape like 2x4x64x64");
        if (s is null)
        {
            return null;
        }

        if (TensorShape.TryParse(s.Value, out var shape, out var error))
        {
            return shape;
        }

        Fail(node, path, error!);
        return null;
    }

    private ShapeProfile? Profile(SourceNode node, string path)
    {
        if (node is ScalarNode)
        {
            var one = Shape(node, path);
            return one is null ? null : new ShapeProfile(one, one, one) { Mark = node.Mark };
        }

        if (node is not MappingNode map)
        {
            return (ShapeProfile?)Fail(node, path, $"expected a shape or {{min: ..., opt: ..., max: ...}}, got {node.KindName}");
        }

        string[] keys = ["min", "opt", "max"];
        var shapes = new TensorShape?[3];
        foreach (var (key, value) in map.Entries)
        {
            var index = Array.IndexOf(keys, key.Value);
            if (index < 0)
            {
                _errors.Add(new PipelineError(key.Mark, $"unknown key '{Join(path, key.Value)}'{Suggest(key.Value, keys)}; a profile has min, opt and max"));
                continue;
            }

            shapes[index] = Shape(value, Join(path, key.Value));
        }

        var bad = false;
        for (var i = 0; i < 3; i++)
        {
            if (map[keys[i]] is null)
            {
                _errors.Add(new PipelineError(map.Mark, $"missing required key '{Join(path, keys[i])}'"));
            }

            bad |= shapes[i] is null;
        }

        if (bad)
        {
            return null;
        }

        var (min, opt, max) = (shapes[0]!, shapes[1]!, shapes[2]!);
        if (min.Dims.Count != opt.Dims.Count || opt.Dims.Count != max.Dims.Count)
        {
            _errors.Add(new PipelineError(map.Mark, $"profile '{path}': min {min}, opt {opt} and max {max} must have the same rank"));
            return null;
        }

        for (var d = 0; d < min.Dims.Count; d++)
        {
            if (min.Dims[d] > opt.Dims[d] || opt.Dims[d] > max.Dims[d])
            {
                _errors.Add(new PipelineError(map.Mark, $"profile '{path}': dimension {d} must satisfy min ≤ opt ≤ max (min {min}, opt {opt}, max {max})"));
                return null;
            }
        }

        return new ShapeProfile(min, opt, max) { Mark = map.Mark };
    }

    private PassSpec? Pass(SourceNode node, string path)
    {
        switch (node)
        {
            case ScalarNode s when !s.IsNull && s.Value.Trim().Length > 0:
                return new PassSpec { Name = s.Value.Trim(), Mark = s.Mark };
            case MappingNode { Entries.Count: 1 } m:
            {
                var (key, value) = m.Entries[0];
                var options = new Dictionary<string, string>(StringComparer.Ordinal);
                if (value is MappingNode optionMap)
                {
                    foreach (var (optionKey, optionValue) in optionMap.Entries)
                    {
                        var optionPath = Join(Join(path, key.Value), optionKey.Value);
                        _marks[optionPath] = optionValue.Mark;
                        switch (optionValue)
                        {
                            case ScalarNode scalar:
                                options[optionKey.Value] = scalar.IsNull ? "" : scalar.Value;
                                break;
                            case SequenceNode { Items: var items } when items.All(i => i is ScalarNode):
                                options[optionKey.Value] = string.Join(',', items.Cast<ScalarNode>().Select(i => i.Value));
                                break;
                            default:
                                Fail(optionValue, optionPath, $"a pass option is a scalar or a list of scalars, got {optionValue.KindName}");
                                break;
                        }
                    }
                }
                else if (value is not ScalarNode { IsNull: true })
                {
                    Fail(value, Join(path, key.Value), $"options of pass '{key.Value}' must be a mapping, got {value.KindName}");
                }

                _marks[path] = key.Mark;
                return new PassSpec { Name = key.Value.Trim(), Options = options, Mark = key.Mark };
            }

            default:
                return (PassSpec?)Fail(node, path, $"a pass is a name or `name: {{option: value}}`, got {node.KindName}");
        }
    }

    private ScalarNode? Scalar(SourceNode node, string path, string expected)
    {
        if (node is ScalarNode s)
        {
            return s;
        }

        Fail(node, path, $"expected {expected}, got {node.KindName}");
        return null;
    }

    private object? Fail(SourceNode node, string path, string message)
    {
        _errors.Add(new PipelineError(node.Mark, path.Length == 0 ? message : $"{path}: {message}"));
        return null;
    }

    private static string Join(string path, string key) => path.Length == 0 ? key : path + "." + key;

    /// <summary>" (did you mean 'x'?)" when a known name is within two edits.</summary>
    public static string Suggest(string written, IEnumerable<string> known)
    {
        var best = known.Select(k => (k, d: Distance(written.ToLowerInvariant(), k.ToLowerInvariant())))
            .Where(x => x.d <= Math.Max(2, x.k.Length / 4)).OrderBy(x => x.d).Select(x => x.k).FirstOrDefault();
        return best is null ? "" : $" (did you mean '{best}'?)";
    }

    private static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var diagonal = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var up = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = up;
            }
        }

        return row[b.Length];
    }
}
