using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization;

namespace OnnxTrtForge.Validation;

/// <summary>One model input or output as the model declares it: name, element type, dims (-1 where not fixed).</summary>
public sealed record TensorSlot(string Name, DataType Type, long[] Dims)
{
    public int Rank => Dims.Length;

    public override string ToString() => $"{Name}: {Type.OnnxName()}[{string.Join(",", Dims.Select(d => d < 0 ? "?" : d.ToString()))}]";
}

/// <summary>
/// The UNet's interface: which input is the latent sample, the timestep and the text embeddings, and its noise output.
/// Inputs are matched by diffusers' names (<c>sample</c>, <c>timestep</c>/<c>t</c>, <c>encoder_hidden_states</c>)
/// where the model uses them, else by rank (4, ≤ 1, 3) and finally by position, as exporters name them
/// <c>input_0</c>… in the order of the forward signature.
/// </summary>
public sealed record UnetSignature(TensorSlot Sample, TensorSlot Timestep, TensorSlot Embeddings, TensorSlot Output)
{
    private static readonly string[] SampleNames = ["sample", "latent_model_input", "latents", "x"];
    private static readonly string[] TimestepNames = ["timestep", "timesteps", "t"];
    private static readonly string[] EmbeddingNames = ["encoder_hidden_states", "text_embeddings", "context"];

    public static UnetSignature FromModelFile(string path)
    {
        using var model = OnnxReader.Load(path);
        return FromModel(model, path);
    }

    public static UnetSignature FromModel(Model model, string displayPath)
    {
        var inputs = model.Graph.Inputs.Where(v => !v.IsInitializer).Select(v => Slot(v, displayPath)).ToList();
        if (inputs.Count != 3)
        {
            throw new ForgeInputException($"{displayPath}: a UNet has 3 inputs (sample, timestep, encoder_hidden_states), this model has {inputs.Count}: {string.Join(", ", inputs)}");
        }

        if (model.Graph.Outputs.Count < 1)
        {
            throw new ForgeInputException($"{displayPath}: the model has no output");
        }

        var remaining = new List<TensorSlot>(inputs);
        var sample = Pick(remaining, SampleNames, s => s.Rank == 4, 0);
        var timestep = Pick(remaining, TimestepNames, s => s.Rank <= 1, 0);
        var embeddings = Pick(remaining, EmbeddingNames, s => s.Rank == 3, 0);
        var output = Slot(model.Graph.Outputs[0], displayPath);
        if (sample.Rank != 4 || embeddings.Rank != 3 || timestep.Rank > 1)
        {
            throw new ForgeInputException($"{displayPath}: cannot tell the UNet inputs apart (need a rank-4 sample, a rank-0/1 timestep and rank-3 embeddings): {string.Join(", ", inputs)}");
        }

        foreach (var slot in new[] { sample, embeddings, output })
        {
            if (slot.Type is not (DataType.Float or DataType.Float16))
            {
                throw new ForgeInputException($"{displayPath}: '{slot.Name}' is {slot.Type.OnnxName()}; forge runs float and float16 UNets");
            }
        }

        if (timestep.Type is not (DataType.Float or DataType.Float16 or DataType.Double or DataType.Int64 or DataType.Int32))
        {
            throw new ForgeInputException($"{displayPath}: timestep input '{timestep.Name}' has type {timestep.Type.OnnxName()}");
        }

        return new UnetSignature(sample, timestep, embeddings, output);
    }

    private static TensorSlot Slot(Value value, string displayPath)
    {
        if (value.Type is null || value.Type.Kind != TypeKind.Tensor || value.Type.Shape is null)
        {
            throw new ForgeInputException($"{displayPath}: '{value.Name}' has no tensor type with a known rank");
        }

        return new TensorSlot(value.Name, value.Type.ElementType, value.Type.Shape.Select(d => d.Value ?? -1).ToArray());
    }

    private static TensorSlot Pick(List<TensorSlot> remaining, string[] names, Func<TensorSlot, bool> shape, int position)
    {
        var chosen = remaining.FirstOrDefault(s => names.Contains(s.Name, StringComparer.OrdinalIgnoreCase))
            ?? (remaining.Count(shape) == 1 ? remaining.First(shape) : remaining[position]);
        remaining.Remove(chosen);
        return chosen;
    }
}
