using ShapeText = OnnxTrtForge.Core.Ir.ShapeText;
using System.Globalization;
using OnnxTrtForge.Pipelines.Yaml;

namespace OnnxTrtForge.Pipelines.Spec;

/// <summary>A property that is not a YAML key (positions and such).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class YamlIgnoreAttribute : Attribute;

/// <summary>The YAML spelling of an enum member or property when kebab-case of its name is not it.</summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
public sealed class YamlNameAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>A path as written (relative to the file it was written in) and resolved to an absolute path.</summary>
public sealed record FilePath(string Written, string FullPath, SourceMark Mark)
{
    public override string ToString() => FullPath;
}

/// <summary>A static tensor shape written <c>2x4x64x64</c> (a single dimension: <c>2</c>).</summary>
public sealed record TensorShape(IReadOnlyList<long> Dims)
{
    public static bool TryParse(string text, out TensorShape? shape, out string? error)
    {
        shape = null;
        if (text.Contains(',', StringComparison.Ordinal) || !ShapeText.TryParseDims(text, out var dims) || dims.Any(d => d <= 0))
        {
            error = $"bad shape '{text}': write positive dimensions joined by 'x', like 2x4x64x64";
            return false;
        }

        error = null;
        shape = new TensorShape(dims);
        return true;
    }

    public bool Equals(TensorShape? other) => other is not null && Dims.SequenceEqual(other.Dims);

    public override int GetHashCode() => Dims.Aggregate(17, (h, d) => HashCode.Combine(h, d));

    public override string ToString() => ShapeText.Format(Dims);
}

/// <summary>min/opt/max shapes of one input of a TensorRT optimization profile.</summary>
public sealed record ShapeProfile(TensorShape Min, TensorShape Opt, TensorShape Max)
{
    [YamlIgnore]
    public SourceMark? Mark { get; init; }
}

/// <summary>A size in bytes; written as MiB (<c>4096</c>) or with a binary unit (<c>4G</c>, <c>512M</c>, <c>64K</c>).</summary>
public sealed record ByteSize(long Bytes)
{
    public long MiB => Bytes >> 20;

    public static bool TryParse(string text, out ByteSize? size)
    {
        size = null;
        var t = text.Trim().ToUpperInvariant();
        if (t.EndsWith('B'))
        {
            t = t[..^1];
        }

        if (t.EndsWith('I'))
        {
            t = t[..^1];
        }

        long unit = 1L << 20;
        if (t.Length > 0 && char.IsLetter(t[^1]))
        {
            unit = t[^1] switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, 'T' => 1L << 40, _ => 0 };
            t = t[..^1];
        }

        if (unit == 0 || !double.TryParse(t, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) || n <= 0)
        {
            return false;
        }

        size = new ByteSize((long)(n * unit));
        return true;
    }

    public override string ToString() => Bytes % (1L << 30) == 0 ? $"{Bytes >> 30}G" : Bytes % (1L << 20) == 0 ? $"{Bytes >> 20}M" : $"{Bytes >> 10}K";
}

/// <summary>A duration written <c>500ms</c>, <c>90s</c>, <c>15m</c> or <c>1h</c>.</summary>
public sealed record Duration(TimeSpan Value)
{
    public static bool TryParse(string text, out Duration? duration)
    {
        duration = null;
        var t = text.Trim();
        (string suffix, double seconds)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)];
        foreach (var (suffix, seconds) in units)
        {
            if (t.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(t[..^suffix.Length], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) && n > 0)
            {
                duration = new Duration(TimeSpan.FromSeconds(n * seconds));
                return true;
            }
        }

        return false;
    }

    public override string ToString() => Value.TotalSeconds % 3600 == 0 ? $"{Value.TotalHours:0}h"
        : Value.TotalSeconds % 60 == 0 ? $"{Value.TotalMinutes:0}m"
        : Value.TotalSeconds >= 1 ? $"{Value.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)}s"
        : $"{Value.TotalMilliseconds:0}ms";
}
