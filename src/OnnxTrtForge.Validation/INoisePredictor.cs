namespace OnnxTrtForge.Validation;

/// <summary>
/// Something that predicts noise like a UNet: given the (already scaled) latent batch, the timestep and the text
/// embeddings, it writes the noise prediction. Buffers belong to the caller and are reused across steps; shapes are
/// those of <see cref="Signature"/> with the batch the loop chose.
/// </summary>
public interface INoisePredictor : IDisposable
{
    UnetSignature Signature { get; }

    /// <summary>A short description for reports (model file, runtime, device).</summary>
    string Description { get; }

    /// <param name="sample">Latent batch, NCHW, <paramref name="sampleDims"/>.</param>
    /// <param name="timestep">The scheduler's timestep value (converted to the model's timestep type).</param>
    /// <param name="embeddings">Text embeddings, <paramref name="embeddingDims"/>. The same memory passed again is taken to
    /// hold the same values (a loop's embeddings never change), so a predictor may keep them resident on its device.</param>
    /// <param name="noise">Receives the prediction, the sample's shape.</param>
    ValueTask PredictAsync(ReadOnlyMemory<float> sample, long[] sampleDims, double timestep, ReadOnlyMemory<float> embeddings, long[] embeddingDims, Memory<float> noise, CancellationToken ct);
}
