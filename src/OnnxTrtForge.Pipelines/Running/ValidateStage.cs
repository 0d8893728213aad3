using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Pipelines.Spec;

namespace OnnxTrtForge.Pipelines.Running;

/// <summary>validate: reference and candidate in the same seeded denoising loop (gate <c>validation</c>, exit 5).</summary>
internal static class ValidateStage
{
    public static Task RunAsync(RunContext ctx, ValidateSpec spec, CancellationToken ct)
    {
        _ = spec;
        _ = ctx;
        ct.ThrowIfCancellationRequested();
        throw new ForgeInputException("the validate stage needs OnnxTrtForge.Validation's validate entry point, which this build does not have yet");
    }
}
