using System.Diagnostics;
using OnnxTrtForge.Core;
using OnnxTrtForge.Pipelines.Spec;
using OnnxTrtForge.TensorRt;
using TrtPrecision = OnnxTrtForge.TensorRt.Precision;
using TrtProfile = OnnxTrtForge.TensorRt.ShapeProfile;

namespace OnnxTrtForge.Pipelines.Running;

/// <summary>
/// build: the current model (fp16, optimized or original) through trtexec with <see cref="EngineBuilder"/>
/// (version-aware arguments, engine cache by content); one gate, <c>build</c>, exit 4 on failure.
/// </summary>
internal static class BuildStage
{
    public static async Task RunAsync(RunContext ctx, BuildSpec spec, IGpuProbe gpu, CancellationToken ct)
    {
        const RunStage stage = RunStage.Build;
        var clock = Stopwatch.StartNew();
        TrtVersion? configured = spec.Version is { } v && TrtVersion.TryParse(v, out var parsed) ? parsed : null;
        var tool = await TrtexecTool.DetectAsync(ctx.Trtexec ?? TrtexecTool.Locate(null), configured, ct);
        if (tool.IsStandIn)
        {
            ctx.Note(stage, $"trtexec at {tool.Path} is a {TrtexecTool.StandInNotice}");
        }

        var engine = ctx.ArtifactPath(spec.Engine);
        var request = new EngineBuildRequest(ctx.CurrentModel, engine, Options(spec))
        {
            CacheDir = spec.Cache.Enabled ? spec.Cache.Dir?.FullPath ?? EngineCache.DefaultRoot() : null,
            Force = spec.Cache.Force,
            Timeout = spec.Timeout?.Value,
        };
        ctx.Progress(stage, $"TensorRT {tool.Version}: {Path.GetFileName(ctx.CurrentModel)} → {spec.Engine}");
        var phases = new Progress(ctx);
        var result = await new EngineBuilder(tool, gpu).BuildAsync(request, phases, ct);
        ctx.Details["build"] = Summary(result);
        foreach (var note in result.Notes)
        {
            ctx.Note(RunStage.Build, note);
        }

        var standIn = result.StandIn ? $" [{TrtexecTool.StandInNotice}]" : "";
        var figures = new Dictionary<string, string>
        {
            ["tensorrt"] = result.Tool.Version.ToString(),
            ["gpu"] = result.Gpu.ToString(),
            ["standIn"] = result.StandIn ? "true" : "false",
        };
        switch (result)
        {
            case EngineBuildSuccess ok:
                ctx.Engine = ok.EnginePath;
                ctx.EngineSource = request.OnnxPath;
                figures["cacheHit"] = ok.CacheHit ? "true" : "false";
                figures["engineBytes"] = ok.EngineBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (ok.BuildSeconds is { } seconds)
                {
                    figures["buildSeconds"] = RunContext.Num(seconds);
                }

                if (ok.CacheKey is { } key)
                {
                    figures["cacheKey"] = key.Hash;
                }

                var how = ok.CacheHit ? $"cache hit (key {ok.CacheKey!.Hash[..16]}), no build"
                    : $"built in {RunContext.Num(ok.BuildSeconds ?? ok.Elapsed.TotalSeconds, "0.##")} s" + (ok.CacheKey is null ? ", cache off" : ", stored in the cache");
                ctx.Gate("build", stage, true, 0, $"{spec.Engine}: {Core.Reports.Format.Bytes(ok.EngineBytes)}, {how}, TensorRT {ok.Tool.Version}{standIn}", clock, figures);
                break;
            case EngineBuildFailure failed:
                figures["reason"] = failed.Reason.Kind.ToString();
                ctx.Gate("build", stage, false, EngineExitCodes.Of(failed), $"engine build failed ({failed.Reason.Kind}): {failed.Reason.Message}{standIn}" +
                    (failed.LogPath is null ? "" : $" (log: {failed.LogPath})"), clock, figures);
                if (failed.Reason.Kind == FailureKind.Cancelled)
                {
                    throw new OperationCanceledException(ct);
                }

                break;
        }
    }

    public static EngineBuildOptions Options(BuildSpec spec) => new()
    {
        Precision = spec.Precision switch
        {
            Spec.Precision.Fp16 => TrtPrecision.Fp16,
            Spec.Precision.Bf16 => TrtPrecision.Bf16,
            _ => TrtPrecision.Fp32,
        },
        Profiles = [.. spec.Profiles.Select(p => new TrtProfile(p.Key, p.Value.Min.Dims, p.Value.Opt.Dims, p.Value.Max.Dims))],
        WorkspaceMiB = spec.Workspace is { } w ? (int)Math.Max(1, w.MiB) : null,
        OptimizationLevel = spec.OptLevel,
        TimingCachePath = spec.Cache.TimingCache?.FullPath,
        Refit = spec.Refit,
        VersionCompatible = spec.VersionCompatible,
        ExtraFlags = spec.Flags,
    };

    private static BuildDetails Summary(EngineBuildResult r) => new(
        r.OnnxPath,
        r.EnginePath,
        TensorRt: r.Tool.Version.ToString(),
        Trtexec: r.Tool.Path,
        r.StandIn,
        Gpu: r.Gpu.ToString(),
        CacheKey: r.CacheKey?.Hash,
        r.Arguments,
        r.LogPath,
        ElapsedSeconds: r.Elapsed.TotalSeconds,
        CacheHit: (r as EngineBuildSuccess)?.CacheHit,
        BuildSeconds: (r as EngineBuildSuccess)?.BuildSeconds,
        EngineBytes: (r as EngineBuildSuccess)?.EngineBytes,
        Failure: (r as EngineBuildFailure)?.Reason.ToString(),
        LogTail: r is EngineBuildFailure ? r.LogTail : []);

    private sealed class Progress(RunContext ctx) : IProgress<TrtexecProgress>
    {
        public void Report(TrtexecProgress value) =>
            ctx.Progress(RunStage.Build, $"trtexec: {value.Phase.ToString().ToLowerInvariant()} ({RunContext.Num(value.Elapsed.TotalSeconds, "0.0")} s)");
    }
}
