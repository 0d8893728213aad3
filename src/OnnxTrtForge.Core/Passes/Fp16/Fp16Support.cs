namespace OnnxTrtForge.Core.Passes.Fp16;

/// <summary>
/// Where the ONNX schemas of ops the planner would convert do not accept float16: Range's T and Celu's T
/// never included it, CumSum gained it in opset 14 and IsInf in opset 20. An fp16 conversion keeps these
/// in float32 there (whatever the op block list says), since ONNX Runtime refuses a graph whose types the
/// schema rejects.
/// </summary>
internal static class Fp16Support
{
    private static readonly Dictionary<string, long> Since = new(StringComparer.Ordinal)
    {
        ["Range"] = long.MaxValue,
        ["Celu"] = long.MaxValue,
        ["CumSum"] = 14,
        ["IsInf"] = 20,
    };

    /// <summary>True when the ai.onnx op's schema at <paramref name="opset"/> has no float16 in its type variable.</summary>
    public static bool Lacks(string opType, long opset) => Since.TryGetValue(opType, out var since) && opset < since;
}
