using System.CommandLine;
using System.Globalization;
using OnnxTrtForge.Core;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.TensorRt;

namespace OnnxTrtForge.Cli;

/// <summary>
/// <c>forge build MODEL.onnx --engine OUT.trt [--trtexec PATH] [--precision fp32|fp16|bf16] [--shape name:MIN:OPT:MAX]...
/// [--workspace MiB] [--opt-level N] [--cache-dir D] [--force] [--timeout S] [--report R.json|R.md]</c>:
/// builds a TensorRT engine with trtexec, cached by content; exit 4 with the classified reason on failure.
/// </summary>
internal static class BuildCommand
{
    public static Command Create()
    {
        var model = CliConventions.MustBeFile(new Argument<string>("model") { Description = "The ONNX model to build an engine from." });
        var engine = CliConventions.MustBeFile(new Option<string>("--engine") { Description = "Where to write the engine.", Required = true });
        var trtexec = new Option<string?>("--trtexec") { Description = "The trtexec executable (default: trtexec on PATH)." };
        var trtVersion = new Option<string?>("--trt-version") { Description = "The TensorRT version (default: read from trtexec's banner)." };
        var precision = CliConventions.EnumOption<Precision>("--precision", "fp32, fp16 or bf16 (TensorRT 11: the ONNX must already carry it).", Precision.Fp32);
        var shapes = new Option<string[]>("--shape") { Description = "An input's shape profile: name:MIN:OPT:MAX or name:DIMS (dims like 2x4x64x64).", AllowMultipleArgumentsPerToken = false };
        var workspace = new Option<int?>("--workspace") { Description = "Workspace memory pool in MiB." };
        var optLevel = new Option<int?>("--opt-level") { Description = "Builder optimization level 0..5 (TensorRT 8.6+)." };
        var cacheDir = new Option<string?>("--cache-dir") { Description = "Engine and timing cache folder (default: ~/.cache/forge)." };
        var noCache = new Option<bool>("--no-cache") { Description = "Neither read nor write the engine cache." };
        var force = new Option<bool>("--force") { Description = "Rebuild even when the cache has this engine." };
        var timeout = new Option<double?>("--timeout") { Description = "Stop trtexec after this many seconds." };
        var report = CliConventions.ReportOption("Write a build report");
        var refit = new Option<bool>("--refit") { Description = "Build a refittable engine." };
        var versionCompatible = new Option<bool>("--version-compatible") { Description = "Build a version-compatible engine (TensorRT 8.6+)." };
        var extra = new Option<string[]>("--trtexec-arg") { Description = "A raw flag passed to trtexec as is (repeatable)." };
        var layerInfo = new Option<string?>("--layer-info") { Description = "Export the engine's layers (trtexec --exportLayerInfo, detailed profiling verbosity) to this JSON file." };
        var command = new Command("build", "Build a TensorRT engine with trtexec (version-aware, cached by content).")
        {
            model, engine, trtexec, trtVersion, precision, shapes, workspace, optLevel, cacheDir, noCache, force, timeout, report, refit, versionCompatible, extra, layerInfo,
        };
        command.SetAction(async (parse, ct) =>
        {
            var verbose = parse.GetValue<bool>("--verbose");
            TrtVersion? configured = null;
            if (parse.GetValue(trtVersion) is { } v)
            {
                configured = TrtVersion.TryParse(v, out var parsed) ? parsed : throw new ForgeInputException($"--trt-version {v}: expected a version like 10.8 or 10.8.0");
            }

            var options = new EngineBuildOptions
            {
                Precision = CliConventions.EnumValue<Precision>(parse, precision)!.Value,
                Profiles = (parse.GetValue(shapes) ?? []).Select(ShapeProfile.Parse).ToList(),
                WorkspaceMiB = parse.GetValue(workspace),
                OptimizationLevel = parse.GetValue(optLevel),
                Refit = parse.GetValue(refit),
                VersionCompatible = parse.GetValue(versionCompatible),
                ExtraFlags = parse.GetValue(extra) ?? [],
                Verbose = verbose,
                ExportLayerInfoPath = parse.GetValue(layerInfo),
            };
            var request = new EngineBuildRequest(parse.GetValue(model)!, parse.GetValue(engine)!, options)
            {
                CacheDir = parse.GetValue(noCache) ? null : parse.GetValue(cacheDir) ?? EngineCache.DefaultRoot(),
                Force = parse.GetValue(force),
                Timeout = parse.GetValue(timeout) is { } seconds ? (seconds > 0 ? TimeSpan.FromSeconds(seconds) : throw new ForgeInputException($"--timeout {seconds}: must be a positive number of seconds")) : null,
            };
            var reportPath = parse.GetValue(report);
            var tool = await TrtexecTool.DetectAsync(TrtexecTool.Locate(parse.GetValue(trtexec)), configured, ct);
            if (tool.IsStandIn)
            {
                Console.Error.WriteLine($"forge: trtexec at {tool.Path} is a {TrtexecTool.StandInNotice}");
            }

            var result = await new EngineBuilder(tool, new NvidiaSmiGpuProbe()).BuildAsync(request, new PhasePrinter("build"), ct);
            Print(result, verbose);
            if (reportPath is not null)
            {
                var r = BuildReport.From(result);
                EngineReportFile.Write(reportPath, r, r.ToMarkdown);
                CliConventions.Wrote("report", reportPath);
            }

            return EngineExitCodes.Of(result);
        });
        return command;
    }

    private static void Print(EngineBuildResult result, bool verbose)
    {
        var standIn = result.StandIn ? $" [{TrtexecTool.StandInNotice}]" : "";
        foreach (var note in result.Notes)
        {
            Console.Out.WriteLine("note: " + note);
        }

        switch (result)
        {
            case EngineBuildSuccess { CacheHit: true } hit:
                Console.Out.WriteLine($"cache hit: {hit.EnginePath} copied from the engine cache (key {hit.CacheKey!.Hash[..16]}), no build{standIn}");
                break;
            case EngineBuildSuccess ok:
                var size = ok.EngineSizeMiB is { } mib && mib >= 1 ? $"{mib.ToString("0.###", CultureInfo.InvariantCulture)} MiB" : Core.Reports.Format.Bytes(ok.EngineBytes);
                var time = ok.BuildSeconds is { } s ? $"{s.ToString("0.##", CultureInfo.InvariantCulture)} s" : $"{ok.Elapsed.TotalSeconds.ToString("0.##", CultureInfo.InvariantCulture)} s (wall)";
                Console.Out.WriteLine($"engine: {ok.EnginePath} ({size}) built in {time} by TensorRT {ok.Tool.Version} on GPU {ok.Gpu}{standIn}");
                Console.Out.WriteLine(ok.CacheKey is null ? "cache: off" : $"cache: miss, stored (key {ok.CacheKey.Hash[..16]})");
                Console.Out.WriteLine($"log: {ok.LogPath}");
                if (ok.LayerInfo is { } layers)
                {
                    Console.Out.WriteLine($"layers: {layers.LayerCount}" + (layers.LayerTypes.Count > 0 ? " (" + string.Join(", ", layers.LayerTypes.OrderByDescending(t => t.Value).Take(8).Select(t => $"{t.Key} {t.Value}")) + ")" : ""));
                }
                break;
            case EngineBuildFailure failed:
                Console.Error.WriteLine($"forge: engine build failed ({Kebab(failed.Reason.Kind)}): {failed.Reason.Message}{standIn}");
                if (failed.LogPath is not null)
                {
                    Console.Error.WriteLine($"forge: log: {failed.LogPath}");
                }

                if (verbose)
                {
                    foreach (var line in failed.LogTail)
                    {
                        Console.Error.WriteLine("  " + line);
                    }
                }

                break;
        }
    }

    internal static string Kebab(FailureKind kind) =>
        string.Concat(kind.ToString().Select((c, i) => i > 0 && char.IsUpper(c) ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}

/// <summary>Prints trtexec's phase changes to stderr with the elapsed time, synchronously and in order.</summary>
internal sealed class PhasePrinter(string what) : IProgress<TrtexecProgress>
{
    private readonly object gate = new();

    public void Report(TrtexecProgress value)
    {
        lock (gate)
        {
            Console.Error.WriteLine($"[{value.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture),7}s] {what}: {value.Phase.ToString().ToLowerInvariant()}{(value.Heartbeat ? " (still running)" : "")}");
        }
    }
}
