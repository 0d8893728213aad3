using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.TensorRt;

/// <summary>The float element types a model carries (initializers and graph inputs), read from the Core IR.</summary>
public sealed record ModelPrecision(long Float32Elements, long Float16Elements, long BFloat16Elements, IReadOnlyList<DataType> InputTypes)
{
    public static ModelPrecision Of(Model model)
    {
        long f32 = 0, f16 = 0, bf16 = 0;
        foreach (var init in model.Graph.Initializers)
        {
            var t = init.Initializer!;
            switch (t.Type)
            {
                case DataType.Float or DataType.Double:
                    f32 += t.ElementCount;
                    break;
                case DataType.Float16:
                    f16 += t.ElementCount;
                    break;
                case DataType.BFloat16:
                    bf16 += t.ElementCount;
                    break;
            }
        }

        var inputs = model.Graph.Inputs.Where(v => !v.IsInitializer && v.Type is { Kind: TypeKind.Tensor })
            .Select(v => v.Type!.ElementType).Where(t => t.IsFloatingPoint()).ToList();
        return new ModelPrecision(f32, f16, bf16, inputs);
    }

    /// <summary>
    /// Whether a strongly typed build (TensorRT 11) gives <paramref name="precision"/>: at least 90% of the
    /// float weights are of that type (small float32 constants such as epsilons may stay), or, for a model
    /// without float weights, a float input of that type.
    /// </summary>
    public bool Carries(Precision precision)
    {
        if (precision == Precision.Fp32)
        {
            return true;
        }

        var wanted = precision == Precision.Fp16 ? Float16Elements : BFloat16Elements;
        var total = Float32Elements + Float16Elements + BFloat16Elements;
        if (total == 0)
        {
            return InputTypes.Contains(precision == Precision.Fp16 ? DataType.Float16 : DataType.BFloat16);
        }

        return wanted >= 0.9 * total;
    }

    public double Float32Share
    {
        get
        {
            var total = Float32Elements + Float16Elements + BFloat16Elements;
            return total == 0 ? 0 : (double)Float32Elements / total;
        }
    }
}
