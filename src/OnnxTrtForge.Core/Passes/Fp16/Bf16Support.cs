namespace OnnxTrtForge.Core.Passes.Fp16;

/// <summary>
/// Where the ONNX schemas accept bfloat16. Most ops gained it in opset 13; the ops below gained it only
/// in opset 22, and Einsum's "all numeric types" never included it. A bf16 conversion keeps these in
/// float32 below that opset, since a graph whose types the schema rejects is invalid (ONNX Runtime
/// refuses to load it: "Type 'tensor(bfloat16)' of input parameter ... of operator (Conv) is invalid").
/// </summary>
internal static class Bf16Support
{
    private static readonly HashSet<string> SinceOpset22 = new(StringComparer.Ordinal)
    {
        "Conv", "ConvTranspose", "DeformConv", "InstanceNormalization", "AveragePool", "MaxPool", "GlobalAveragePool",
        "GlobalMaxPool", "GlobalLpPool", "LpPool", "MaxRoiPool", "MaxUnpool", "LpNormalization", "Sin", "Cos", "Tan", "Asin",
        "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Round", "Softplus", "Softsign", "Elu", "Selu", "HardSigmoid",
        "HardSwish", "ThresholdedRelu", "Mish", "Dropout", "EyeLike", "GridSample", "Det", "RandomNormal", "RandomNormalLike",
        "RandomUniform", "RandomUniformLike", "Multinomial", "Bernoulli", "RoiAlign", "GRU", "LSTM", "RNN",
    };

    private static readonly HashSet<string> Never = new(StringComparer.Ordinal) { "Einsum" };

    /// <summary>True when the op's schema at <paramref name="opset"/> has no bfloat16 in its type variable.</summary>
    public static bool Lacks(string opType, long opset) =>
        opset < 13 || Never.Contains(opType) || (opset < 22 && SinceOpset22.Contains(opType));
}
