using System.Diagnostics;
using System.Globalization;

namespace FakeTrtexec;

/// <summary>
/// A stand-in for TensorRT's trtexec (a test double). It honours trtexec's CLI contract for TensorRT 8.6,
/// 10.x and 11.x (FAKE_TRTEXEC_VERSION=8.6|10.8|11.0), prints trtexec-shaped logs, writes "engines" that are
/// text files naming the ONNX they were built from, and runs that ONNX in ONNX Runtime (CPU) to time it and
/// to export outputs. FAKE_TRTEXEC_FAIL=unknown-option|oom|no-implementation|unsupported-op|parser-error|hang
/// simulates trtexec's failure classes (at build) and a hang (at build or inference). Nothing it produces is a TensorRT engine or TensorRT timing.
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        var version = FakeVersion.FromEnvironment();
        var log = new FakeLog(version, args);
        log.Banner();
        log.Info(FakeLog.StandInLine);
        try
        {
            var options = FakeOptions.Parse(args, version, out var unknown);
            var fail = Environment.GetEnvironmentVariable("FAKE_TRTEXEC_FAIL")?.Trim().ToLowerInvariant();
            if (fail == "unknown-option" && unknown is null)
            {
                unknown = args.FirstOrDefault(a => a is "--fp16" or "--bf16" or "--best") ?? args.FirstOrDefault() ?? "--?";
            }

            if (unknown is not null)
            {
                log.Error("Unknown option: " + unknown + " ");
                log.Usage(version);
                return log.Failed();
            }

            if (options.Has("help") || options.Has("h"))
            {
                log.Usage(version);
                return 0;
            }

            log.Info("=== Model Options ===");
            if (options.Get("onnx") is { } onnx)
            {
                var code = new FakeBuilder(version, options, log, fail).Build(onnx);
                if (code != 0 || options.Has("skipInference") || options.Has("buildOnly"))
                {
                    return code == 0 ? log.Passed() : code;
                }

                return new FakeInference(version, options, log, fail).Run(options.Get("saveEngine")!);
            }

            if (options.Get("loadEngine") is { } engine)
            {
                return new FakeInference(version, options, log, fail).Run(engine);
            }

            log.Error("Model missing or format not supported");
            return log.Failed();
        }
        catch (FakeFailure e)
        {
            log.Error(e.Message);
            return log.Failed();
        }
    }
}

/// <summary>An error the stand-in reports the way trtexec would, then fails.</summary>
internal sealed class FakeFailure(string message) : Exception(message);

/// <summary>The TensorRT version the stand-in impersonates.</summary>
internal sealed record FakeVersion(int Major, int Minor, int Patch)
{
    public static FakeVersion FromEnvironment()
    {
        var text = Environment.GetEnvironmentVariable("FAKE_TRTEXEC_VERSION");
        var parts = (string.IsNullOrWhiteSpace(text) ? "10.8" : text.Trim()).Split('.');
        int At(int i) => i < parts.Length && int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0;
        return new FakeVersion(At(0), At(1), At(2));
    }

    /// <summary>The banner number: 8.6.1 → 8601, 10.8.0 → 100800.</summary>
    public int BannerNumber => Major >= 10 ? (Major * 10000) + (Minor * 100) + Patch : (Major * 1000) + (Minor * 100) + Patch;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Major}.{Minor}.{Patch}");
}

/// <summary>trtexec-shaped log lines: <c>[MM/DD/YYYY-HH:MM:SS] [I] ...</c>; errors go to stderr as trtexec's do.</summary>
internal sealed class FakeLog(FakeVersion version, string[] args)
{
    public const string StandInLine = "FakeTrtexec stand-in (test double): this is not TensorRT; engines it writes are not real TensorRT engines and its timings are ONNX Runtime CPU timings.";

    public readonly Stopwatch Clock = Stopwatch.StartNew();

    private string Tag => $"TensorRT.trtexec [TensorRT v{version.BannerNumber}] # trtexec {string.Join(' ', args)}";

    public void Banner() => Console.Out.WriteLine("&&&& RUNNING " + Tag);

    public int Passed()
    {
        Console.Out.WriteLine("&&&& PASSED " + Tag);
        return 0;
    }

    public int Failed()
    {
        Console.Out.WriteLine("&&&& FAILED " + Tag);
        return 1;
    }

    public void Info(string message) => Write(Console.Out, 'I', message);

    public void Trt(string message) => Write(Console.Out, 'I', "[TRT] " + message);

    public void Warning(string message) => Write(Console.Out, 'W', message);

    public void Verbose(string message) => Write(Console.Out, 'V', message);

    public void Error(string message) => Write(Console.Error, 'E', message);

    public void Usage(FakeVersion v)
    {
        Console.Out.WriteLine("=== Build Options ===");
        foreach (var flag in FakeOptions.Allowed(v).Order(StringComparer.Ordinal))
        {
            Console.Out.WriteLine("  --" + flag);
        }
    }

    private static void Write(TextWriter writer, char severity, string message)
    {
        var stamp = DateTime.Now.ToString("MM/dd/yyyy-HH:mm:ss", CultureInfo.InvariantCulture);
        writer.WriteLine($"[{stamp}] [{severity}] {message}");
        writer.Flush();
    }
}

/// <summary>trtexec's flags, as the impersonated version knows them.</summary>
internal sealed class FakeOptions
{
    private static readonly string[] Common =
    [
        "onnx", "saveEngine", "loadEngine", "minShapes", "optShapes", "maxShapes", "shapes", "timingCacheFile", "loadInputs",
        "iterations", "warmUp", "duration", "avgRuns", "percentile", "exportTimes", "exportProfile", "exportLayerInfo", "exportOutput",
        "profilingVerbosity", "verbose", "refit", "help", "h", "device", "noDataTransfers", "useCudaGraph", "useSpinWait",
        "separateProfileRun", "dumpOutput", "dumpProfile", "skipInference", "memPoolSize", "builderOptimizationLevel", "versionCompatible",
        "inputIOFormats", "outputIOFormats", "noTF32", "sparsity", "allowGPUFallback", "useDLACore", "staticPlugins", "setPluginsToSerialize",
    ];

    private readonly Dictionary<string, string?> values = new(StringComparer.Ordinal);

    public static IReadOnlySet<string> Allowed(FakeVersion v)
    {
        var set = new HashSet<string>(Common, StringComparer.Ordinal);
        if (v.Major <= 8)
        {
            set.UnionWith(["workspace", "buildOnly", "fp16", "int8", "best", "explicitBatch"]);
        }
        else if (v.Major < 11)
        {
            set.UnionWith(["fp16", "bf16", "int8", "fp8", "best", "stronglyTyped"]);
        }
        else
        {
            set.Add("stronglyTyped");
        }

        return set;
    }

    public static FakeOptions Parse(string[] args, FakeVersion version, out string? unknown)
    {
        unknown = null;
        var allowed = Allowed(version);
        var options = new FakeOptions();
        foreach (var arg in args)
        {
            if (!arg.StartsWith("--", StringComparison.Ordinal) && !arg.StartsWith('-'))
            {
                unknown ??= arg;
                continue;
            }

            var body = arg.TrimStart('-');
            var eq = body.IndexOf('=', StringComparison.Ordinal);
            var name = eq < 0 ? body : body[..eq];
            if (!allowed.Contains(name))
            {
                unknown ??= "--" + name;
                continue;
            }

            options.values[name] = eq < 0 ? null : body[(eq + 1)..];
        }

        return options;
    }

    public bool Has(string name) => values.ContainsKey(name);

    public string? Get(string name) => values.TryGetValue(name, out var v) ? v : null;

    public int GetInt(string name, int fallback) =>
        Get(name) is { } s && int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : fallback;

    public double GetDouble(string name, double fallback) =>
        Get(name) is { } s && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : fallback;

    /// <summary>Parses <c>name:2x4x64x64,'odd:name':1</c> (the same splitting rules as trtexec: quotes protect names).</summary>
    public static Dictionary<string, string> NameValueList(string? text)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrEmpty(text))
        {
            return result;
        }

        var i = 0;
        while (i < text.Length)
        {
            string name;
            if (text[i] == '\'')
            {
                var close = text.IndexOf('\'', i + 1);
                if (close < 0)
                {
                    throw new FakeFailure("Invalid tensor name list: " + text);
                }

                name = text[(i + 1)..close];
                i = close + 1;
                if (i >= text.Length || text[i] != ':')
                {
                    throw new FakeFailure("Invalid tensor name list: " + text);
                }

                i++;
            }
            else
            {
                var colon = text.IndexOf(':', i);
                if (colon < 0)
                {
                    throw new FakeFailure("Invalid tensor name list: " + text);
                }

                name = text[i..colon];
                i = colon + 1;
            }

            var comma = text.IndexOf(',', i);
            var value = comma < 0 ? text[i..] : text[i..comma];
            i = comma < 0 ? text.Length : comma + 1;
            result[name] = value;
        }

        return result;
    }

    public static long[] Dims(string text) =>
        text.Split('x').Select(d => long.Parse(d, NumberStyles.Integer, CultureInfo.InvariantCulture)).ToArray();
}
