using System.Globalization;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Reports;
using OnnxTrtForge.Core.Serialization;

namespace OnnxTrtForge.TensorRt;

/// <summary>One engine build: the model, where the engine goes, how to build it, and the cache policy.</summary>
public sealed record EngineBuildRequest(string OnnxPath, string EnginePath, EngineBuildOptions Options)
{
    /// <summary>The engine cache folder; null disables the cache (and the managed timing cache).</summary>
    public string? CacheDir { get; init; }

    /// <summary>Rebuild even when the cache holds an engine for this key.</summary>
    public bool Force { get; init; }

    public TimeSpan? Timeout { get; init; }

    /// <summary>Where trtexec's log goes; default <c>ENGINE.log</c> next to the engine.</summary>
    public string? LogPath { get; init; }
}

/// <summary>
/// Builds TensorRT engines with trtexec: checks the request against the TensorRT version, looks the
/// engine up by content in the cache, runs trtexec on a temporary engine path and renames it into place
/// only on success, so a failed, timed out or cancelled build never leaves a partial engine.
/// </summary>
public sealed class EngineBuilder(TrtexecTool tool, IGpuProbe gpuProbe)
{
    public TrtexecTool Tool { get; } = tool;

    public async Task<EngineBuildResult> BuildAsync(EngineBuildRequest request, IProgress<TrtexecProgress>? progress, CancellationToken ct)
    {
        var onnx = Path.GetFullPath(request.OnnxPath);
        var engine = Path.GetFullPath(request.EnginePath);
        IReadOnlyList<string> externalFiles;
        using (var model = OnnxReader.Load(onnx))
        {
            // the engine, its log and layer file are resolved against the model and its weights before any work
            var plan = OutputPlan.Reading(model);
            plan.File(engine, "the engine");
            plan.File(request.LogPath ?? engine + ".log", "the trtexec log");
            if (request.Options.ExportLayerInfoPath is { } layers)
            {
                plan.File(layers, "the layer info");
            }

            CheckProfiles(model, request);
            CheckPrecision(model, request);
            externalFiles = model.Graph.Initializers.Select(v => v.Initializer!.Data)
                .OfType<MappedTensorData>().Where(d => d.IsExternal).Select(d => d.FilePath).Distinct(StringComparer.Ordinal).ToList();
        }

        var gpu = await gpuProbe.ProbeAsync(ct);
        var options = request.Options;
        EngineCache? cache = request.CacheDir is null ? null : new EngineCache(request.CacheDir);
        var notes = new List<string>();
        EngineCacheKey? key = null;
        if (cache is not null)
        {
            key = await EngineCache.ComputeKeyAsync(onnx, externalFiles, options, Tool.Version, gpu, Tool.IsStandIn, ct);
            var lookup = request.Force ? EngineCacheLookup.Miss : cache.Lookup(key);
            if (lookup.Stale is { } stale)
            {
                notes.Add(stale);
            }

            if (lookup.Entry is { } hit)
            {
                cache.CopyOut(key, engine);
                LayerInfo? cachedLayers = null;
                if (options.ExportLayerInfoPath is { } wanted && File.Exists(cache.LayerInfoPath(key)))
                {
                    AtomicFile.Write(wanted, tmp => File.Copy(cache.LayerInfoPath(key), tmp, overwrite: true));
                    cachedLayers = TrtexecExports.ReadLayerInfo(wanted);
                }

                return new EngineBuildSuccess
                {
                    OnnxPath = onnx,
                    EnginePath = engine,
                    Tool = Tool,
                    Gpu = gpu,
                    Notes = notes,
                    CacheKey = key,
                    CacheHit = true,
                    StandIn = Tool.IsStandIn || hit.StandIn,
                    BuildSeconds = hit.BuildSeconds,
                    EngineSizeMiB = hit.EngineSizeMiB,
                    EngineBytes = new FileInfo(engine).Length,
                    LayerInfo = cachedLayers,
                };
            }

            if (options.TimingCachePath is null)
            {
                options = options with { TimingCachePath = cache.TimingCachePath(Tool.Version, gpu) };
                Directory.CreateDirectory(Path.GetDirectoryName(options.TimingCachePath)!);
            }
        }

        Directory.CreateDirectory(Path.GetDirectoryName(engine)!);
        var partial = Path.Combine(Path.GetDirectoryName(engine)!, "." + Path.GetFileName(engine) + ".partial-" + Guid.NewGuid().ToString("N")[..8]);
        var logPath = Path.GetFullPath(request.LogPath ?? engine + ".log");
        var layersPartial = options.ExportLayerInfoPath is { } layersWanted
            ? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(layersWanted))!, "." + Path.GetFileName(layersWanted) + ".partial-" + Guid.NewGuid().ToString("N")[..8])
            : null;
        if (layersPartial is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(layersPartial)!);
        }

        var args = TrtexecArguments.Build(Tool.Version, onnx, partial, options with { ExportLayerInfoPath = layersPartial });
        try
        {
            var run = await TrtexecRunner.RunAsync(Tool.Path, args, logPath, request.Timeout, progress, ct);
            var facts = TrtexecLog.ParseFile(logPath);
            var standIn = Tool.IsStandIn || facts.IsStandIn;
            FailureReason? reason = null;
            if (run.TimedOut)
            {
                reason = new FailureReason(FailureKind.Timeout, $"trtexec did not finish within {request.Timeout!.Value.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s and was stopped");
            }
            else if (run.Cancelled)
            {
                reason = new FailureReason(FailureKind.Cancelled, "the build was cancelled and trtexec was stopped");
            }
            else if (run.ExitCode != 0 || facts.Passed == false)
            {
                reason = TrtexecFailure.Classify(File.ReadLines(logPath), run.ExitCode);
            }
            else if (!File.Exists(partial) || new FileInfo(partial).Length == 0)
            {
                reason = new FailureReason(FailureKind.NoEngineWritten, "trtexec reported success but wrote no engine");
            }

            if (reason is not null)
            {
                return new EngineBuildFailure
                {
                    OnnxPath = onnx,
                    EnginePath = engine,
                    Tool = Tool,
                    Gpu = gpu,
                    Notes = notes,
                    CacheKey = key,
                    LogPath = logPath,
                    LogTail = TrtexecRunner.FailureTail(run),
                    Arguments = args,
                    Elapsed = run.Elapsed,
                    StandIn = standIn,
                    Reason = reason,
                };
            }

            File.Move(partial, engine, overwrite: true);
            LayerInfo? layers = null;
            if (layersPartial is not null && File.Exists(layersPartial))
            {
                File.Move(layersPartial, Path.GetFullPath(options.ExportLayerInfoPath!), overwrite: true);
                layers = TrtexecExports.ReadLayerInfo(options.ExportLayerInfoPath!);
            }

            if (cache is not null && key is not null)
            {
                cache.Store(key, engine, new EngineCacheEntry(key.Hash, onnx, Tool.Version.ToString(), gpu.ToString(), standIn, DateTimeOffset.UtcNow, facts.BuildSeconds, facts.EngineSizeMiB), options.ExportLayerInfoPath);
            }

            return new EngineBuildSuccess
            {
                OnnxPath = onnx,
                EnginePath = engine,
                Tool = Tool,
                Gpu = gpu,
                Notes = notes,
                CacheKey = key,
                LogPath = logPath,
                LogTail = run.Tail,
                Arguments = args,
                Elapsed = run.Elapsed,
                StandIn = standIn,
                BuildSeconds = facts.BuildSeconds,
                EngineSizeMiB = facts.EngineSizeMiB,
                EngineBytes = new FileInfo(engine).Length,
                TimingCachePath = options.TimingCachePath,
                LayerInfo = layers,
            };
        }
        finally
        {
            if (File.Exists(partial))
            {
                File.Delete(partial);
            }

            if (layersPartial is not null && File.Exists(layersPartial))
            {
                File.Delete(layersPartial);
            }
        }
    }

    private static void CheckProfiles(Model model, EngineBuildRequest request) =>
        ProfileCheck.Against(model, request.Options.Profiles, request.OnnxPath);

    private void CheckPrecision(Model model, EngineBuildRequest request)
    {
        var precision = request.Options.Precision;
        if (Tool.Version.Major < 11 || precision == Precision.Fp32)
        {
            return;
        }

        var carried = ModelPrecision.Of(model);
        if (!carried.Carries(precision))
        {
            var type = precision == Precision.Fp16 ? "fp16" : "bf16";
            throw new ForgeInputException(
                $"{request.OnnxPath}: TensorRT {Tool.Version} builds strongly typed networks (no --{type} flag); this model is float32 " +
                $"({(carried.Float32Share * 100).ToString("0.#", CultureInfo.InvariantCulture)}% of its float weights), so a {type} engine needs an {type} ONNX: " +
                $"convert it with the `to-{type}` pass first, or build with --precision fp32");
        }
    }
}
