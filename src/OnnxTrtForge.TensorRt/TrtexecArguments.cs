using System.Globalization;
using System.Text.RegularExpressions;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.TensorRt;

/// <summary>
/// Turns options into trtexec argument lists (never a shell string), per TensorRT version: 8.x takes
/// <c>--workspace=N</c>, 9+ <c>--memPoolSize=workspace:NM</c>; 8.x–10.x take precision flags, 11.x none
/// (networks are strongly typed there; precision comes from the ONNX).
/// </summary>
public static partial class TrtexecArguments
{
    public static IReadOnlyList<string> Build(TrtVersion version, string onnxPath, string enginePath, EngineBuildOptions options)
    {
        var args = new List<string>
        {
            "--onnx=" + onnxPath,
            "--saveEngine=" + enginePath,
            version.IsAtLeast(8, 5) ? "--skipInference" : "--buildOnly",
        };

        args.AddRange(PrecisionFlags(version, options.Precision));
        if (options.Profiles.Count > 0)
        {
            args.Add("--minShapes=" + Shapes(options.Profiles.Select(p => (p.Name, p.Min))));
            args.Add("--optShapes=" + Shapes(options.Profiles.Select(p => (p.Name, p.Opt))));
            args.Add("--maxShapes=" + Shapes(options.Profiles.Select(p => (p.Name, p.Max))));
        }

        if (options.WorkspaceMiB is { } mib)
        {
            if (mib <= 0)
            {
                throw new ForgeInputException($"--workspace {mib}: the workspace must be a positive number of MiB");
            }

            args.Add(version.Major <= 8
                ? "--workspace=" + mib.ToString(CultureInfo.InvariantCulture)
                : "--memPoolSize=workspace:" + mib.ToString(CultureInfo.InvariantCulture) + "M");
        }

        if (options.OptimizationLevel is { } level)
        {
            if (level is < 0 or > 5)
            {
                throw new ForgeInputException($"--opt-level {level}: the builder optimization level is 0..5");
            }

            if (!version.IsAtLeast(8, 6))
            {
                throw new ForgeInputException($"--opt-level: TensorRT {version} has no builder optimization level (8.6 and later)");
            }

            args.Add("--builderOptimizationLevel=" + level.ToString(CultureInfo.InvariantCulture));
        }

        if (options.TimingCachePath is { } timingCache)
        {
            args.Add("--timingCacheFile=" + timingCache);
        }

        if (options.Refit)
        {
            args.Add("--refit");
        }

        if (options.VersionCompatible)
        {
            if (!version.IsAtLeast(8, 6))
            {
                throw new ForgeInputException($"--version-compatible: TensorRT {version} cannot build version-compatible engines (8.6 and later)");
            }

            args.Add("--versionCompatible");
        }

        if (options.ExportLayerInfoPath is { } layerInfo)
        {
            args.Add("--profilingVerbosity=detailed");
            args.Add("--exportLayerInfo=" + layerInfo);
        }

        if (options.Verbose)
        {
            args.Add("--verbose");
        }

        args.AddRange(options.ExtraFlags);
        return args;
    }

    /// <summary>The precision flags a version takes; none at all on 11.x, where <c>--fp16</c> is an unknown option.</summary>
    public static IReadOnlyList<string> PrecisionFlags(TrtVersion version, Precision precision)
    {
        if (precision == Precision.Fp32 || version.Major >= 11)
        {
            return [];
        }

        if (precision == Precision.Bf16 && version.Major < 9)
        {
            throw new ForgeInputException($"--precision bf16: TensorRT {version} has no bf16 (9.0 and later)");
        }

        return precision == Precision.Fp16 ? ["--fp16"] : ["--bf16"];
    }

    /// <summary>Arguments that time a built engine and export per-query times (and optionally the per-layer profile).</summary>
    public static IReadOnlyList<string> Bench(TrtVersion version, string enginePath, BenchOptions options, string exportTimesPath, string? exportProfilePath)
    {
        var args = new List<string> { "--loadEngine=" + enginePath };
        if (options.Shapes.Count > 0)
        {
            args.Add("--shapes=" + Shapes(options.Shapes.Select(s => (s.Name, s.Dims))));
        }

        args.Add("--iterations=" + options.Iterations.ToString(CultureInfo.InvariantCulture));
        args.Add("--warmUp=" + options.WarmUpMs.ToString(CultureInfo.InvariantCulture));
        args.Add("--duration=" + options.DurationSeconds.ToString(CultureInfo.InvariantCulture));
        if (version.IsAtLeast(8, 6))
        {
            // Older trtexec takes a single percentile; its default summary already has what it can print.
            args.Add("--percentile=90,95,99");
        }

        args.Add("--exportTimes=" + exportTimesPath);
        if (exportProfilePath is not null)
        {
            args.Add("--exportProfile=" + exportProfilePath);
            args.Add("--separateProfileRun");
        }

        if (options.Verbose)
        {
            args.Add("--verbose");
        }

        args.AddRange(options.ExtraFlags);
        return args;
    }

    /// <summary>Arguments that run an engine once on given input files and export its outputs.</summary>
    public static IReadOnlyList<string> Infer(TrtVersion version, string enginePath, IReadOnlyList<(string Name, string File, IReadOnlyList<long> Dims)> inputs, string exportOutputPath)
    {
        _ = version;
        var args = new List<string> { "--loadEngine=" + enginePath };
        if (inputs.Count > 0)
        {
            args.Add("--loadInputs=" + string.Join(',', inputs.Select(i => QuoteName(i.Name) + ":" + i.File)));
            args.Add("--shapes=" + Shapes(inputs.Select(i => (i.Name, i.Dims))));
        }

        args.Add("--iterations=1");
        args.Add("--warmUp=0");
        args.Add("--duration=0");
        args.Add("--exportOutput=" + exportOutputPath);
        return args;
    }

    /// <summary>Writes <c>name:2x4x64x64,name2:1</c>, quoting names with characters trtexec would split on.</summary>
    public static string Shapes(IEnumerable<(string Name, IReadOnlyList<long> Dims)> shapes) =>
        string.Join(',', shapes.Select(s => QuoteName(s.Name) + ":" + ShapeProfile.FormatDims(s.Dims)));

    /// <summary>A tensor name as trtexec reads it: plain, or wrapped in single quotes when it has special characters.</summary>
    public static string QuoteName(string name)
    {
        if (name.Contains('\'', StringComparison.Ordinal))
        {
            throw new ForgeInputException($"input '{name}': trtexec cannot address tensor names that contain a single quote");
        }

        return PlainName().IsMatch(name) ? name : "'" + name + "'";
    }

    [GeneratedRegex(@"^[A-Za-z0-9_./\-]+$")]
    private static partial Regex PlainName();
}

/// <summary>How <c>forge bench</c> times an engine.</summary>
public sealed record BenchOptions
{
    public IReadOnlyList<(string Name, IReadOnlyList<long> Dims)> Shapes { get; init; } = [];

    public int Iterations { get; init; } = 100;

    public int WarmUpMs { get; init; } = 200;

    /// <summary>Minimum seconds of timing; 0 lets <see cref="Iterations"/> decide.</summary>
    public int DurationSeconds { get; init; }

    public bool ExportProfile { get; init; }

    public bool Verbose { get; init; }

    public IReadOnlyList<string> ExtraFlags { get; init; } = [];
}
