using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// The runtime <c>forge optimize</c> prepares a model for. Every target starts with the portable
/// pipeline; <see cref="TensorRt"/> then checks that only standard ONNX ops remain, <see cref="OrtCuda"/>
/// fuses subgraphs into the com.microsoft contrib ops of ONNX Runtime's CUDA provider.
/// </summary>
public enum OptimizeTarget
{
    /// <summary>Standard ONNX ops only, no runtime-specific fusion (the default).</summary>
    Portable,

    /// <summary>The portable pipeline, then a check that no op outside the default ONNX domain remains.</summary>
    TensorRt,

    /// <summary>The portable pipeline, then fusions into ONNX Runtime CUDA contrib ops, then cleanup.</summary>
    OrtCuda,
}

/// <summary>Names of <see cref="OptimizeTarget"/> as the CLI and YAML spell them.</summary>
public static class OptimizeTargets
{
    public static IReadOnlyList<string> Names { get; } = ["portable", "tensorrt", "ort-cuda"];

    public static string Name(this OptimizeTarget target) => target switch
    {
        OptimizeTarget.TensorRt => "tensorrt",
        OptimizeTarget.OrtCuda => "ort-cuda",
        _ => "portable",
    };

    /// <summary>Parses a target name; an unknown one is a bad-input error that lists the known ones.</summary>
    public static OptimizeTarget Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "portable" => OptimizeTarget.Portable,
        "tensorrt" or "trt" => OptimizeTarget.TensorRt,
        "ort-cuda" => OptimizeTarget.OrtCuda,
        _ => throw new ForgeInputException($"unknown target '{name}'; known targets: {string.Join(", ", Names)}"),
    };
}
