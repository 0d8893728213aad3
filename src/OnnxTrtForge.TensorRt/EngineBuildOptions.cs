using System.Globalization;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.TensorRt;

/// <summary>The precision an engine is built for. On TensorRT 11 it comes from the ONNX itself.</summary>
public enum Precision
{
    Fp32,
    Fp16,
    Bf16,
}

/// <summary>One input's optimization profile: the smallest, the typical and the largest shape.</summary>
public sealed record ShapeProfile(string Name, IReadOnlyList<long> Min, IReadOnlyList<long> Opt, IReadOnlyList<long> Max)
{
    public static ShapeProfile Fixed(string name, IReadOnlyList<long> dims) => new(name, dims, dims, dims);

    /// <summary>
    /// Parses <c>name:MIN:OPT:MAX</c> or <c>name:DIMS</c> (dims written <c>2x4x64x64</c>). The name is what
    /// precedes the dims, so it may itself contain ':'.
    /// </summary>
    public static ShapeProfile Parse(string text)
    {
        var parts = text.Split(':');
        var dimCount = 0;
        for (var i = parts.Length - 1; i >= 1 && dimCount < 3 && TryParseDims(parts[i], out _); i--)
        {
            dimCount++;
        }

        if (dimCount == 2)
        {
            dimCount = 1;
        }

        if (dimCount == 0 || parts.Length - dimCount < 1)
        {
            throw new ForgeInputException($"--shape {text}: expected name:MIN:OPT:MAX or name:DIMS with dims like 2x4x64x64");
        }

        var name = string.Join(':', parts[..^dimCount]).Trim('\'');
        if (name.Length == 0)
        {
            throw new ForgeInputException($"--shape {text}: the input name is empty");
        }

        var dims = parts[^dimCount..].Select(p => (IReadOnlyList<long>)(TryParseDims(p, out var d) ? d : [])).ToArray();
        return dimCount == 1 ? Fixed(name, dims[0]) : new ShapeProfile(name, dims[0], dims[1], dims[2]);
    }

    public static bool TryParseDims(string text, out long[] dims) => ShapeText.TryParseDims(text, out dims);

    public static string FormatDims(IEnumerable<long> dims) => ShapeText.Format(dims);

    public override string ToString() => $"{Name}:{FormatDims(Min)}:{FormatDims(Opt)}:{FormatDims(Max)}";
}

/// <summary>Everything that shapes an engine build. Immutable; turned into trtexec arguments per version.</summary>
public sealed record EngineBuildOptions
{
    public Precision Precision { get; init; } = Precision.Fp32;

    public IReadOnlyList<ShapeProfile> Profiles { get; init; } = [];

    /// <summary>Workspace memory pool in MiB (null: TensorRT's default).</summary>
    public int? WorkspaceMiB { get; init; }

    /// <summary>Builder optimization level 0..5 (null: TensorRT's default, 3).</summary>
    public int? OptimizationLevel { get; init; }

    /// <summary>An explicit timing cache file; null lets the engine cache choose one per TensorRT version and GPU.</summary>
    public string? TimingCachePath { get; init; }

    public bool Refit { get; init; }

    public bool VersionCompatible { get; init; }

    /// <summary>Raw flags appended as they are (for example <c>--sparsity=enable</c>).</summary>
    public IReadOnlyList<string> ExtraFlags { get; init; } = [];

    public bool Verbose { get; init; }

    /// <summary>Where trtexec writes <c>--exportLayerInfo</c> (with detailed profiling verbosity), or null.</summary>
    public string? ExportLayerInfoPath { get; init; }

    /// <summary>The options that change the engine, in a fixed textual form (the engine cache hashes it).</summary>
    public string CanonicalText()
    {
        var profiles = Profiles.OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => p.ToString());
        return string.Join('\n',
        [
            "precision=" + Precision.ToString().ToLowerInvariant(),
            "profiles=" + string.Join('|', profiles),
            "workspaceMiB=" + (WorkspaceMiB?.ToString(CultureInfo.InvariantCulture) ?? "default"),
            "optimizationLevel=" + (OptimizationLevel?.ToString(CultureInfo.InvariantCulture) ?? "default"),
            "refit=" + Refit,
            "versionCompatible=" + VersionCompatible,
            "profilingVerbosity=" + (ExportLayerInfoPath is null ? "default" : "detailed"),
            "extra=" + string.Join(' ', ExtraFlags),
        ]);
    }
}
