using Microsoft.ML.OnnxRuntime;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Reports;

namespace OnnxTrtForge.Validation;

/// <summary>
/// Decodes final latents with a VAE decoder (latents ÷ 0.18215, Stable Diffusion's scaling factor; image values in
/// [-1, 1] mapped to [0, 1]) and writes reference | candidate | amplified difference side by side as a PNG.
/// Only the first latent of a batch is decoded.
/// </summary>
public static class LatentImages
{
    public const double LatentScale = 0.18215;

    /// <summary>The difference panel shows |reference − candidate| × this, clipped to white.</summary>
    public const double DifferenceGain = 10;

    public static ImageComparison DecodeAndCompare(string decoderPath, RuntimeOptions runtime, Tensor referenceLatents, Tensor candidateLatents, string imagePath)
    {
        using var session = OrtSessions.Create(decoderPath, runtime);
        var reference = Decode(session, decoderPath, referenceLatents);
        var candidate = Decode(session, decoderPath, candidateLatents);
        var (height, width) = (reference.Height, reference.Width);
        var pixels = TensorComparison.Compare(reference.Rgb, candidate.Rgb);
        var psnr = TensorComparison.Psnr(reference.Rgb, candidate.Rgb, 1.0);
        var png = EncodeStrip(reference, candidate);
        AtomicFile.WriteAllBytes(imagePath, png);
        return new ImageComparison(imagePath, width, height, psnr, pixels);
    }

    /// <summary>An image as planar RGB doubles in [0, 1].</summary>
    public sealed record Image(int Width, int Height, double[] Rgb);

    public static Image Decode(InferenceSession session, string decoderPath, Tensor latents)
    {
        if (latents.Dims.Length != 4)
        {
            throw new ForgeInputException($"{decoderPath}: latents must be [B,C,H,W], got [{string.Join(",", latents.Dims)}]");
        }

        var inputName = session.InputNames[0];
        var meta = session.InputMetadata[inputName];
        long[] dims = [1, latents.Dims[1], latents.Dims[2], latents.Dims[3]];
        var declared = meta.Dimensions;
        if (declared.Length != 4 || Enumerable.Range(0, 4).Any(d => declared[d] > 0 && declared[d] != dims[d]))
        {
            throw new ForgeInputException($"{decoderPath}: decoder input '{inputName}' is [{string.Join(",", declared.Select(d => d < 0 ? "?" : d.ToString()))}], the latents are [{string.Join(",", dims)}]");
        }

        var count = (int)(dims[1] * dims[2] * dims[3]);
        var values = latents.ToDoubleArray();
        var scaled = new float[count];
        for (var i = 0; i < count; i++)
        {
            scaled[i] = (float)(values[i] / LatentScale);
        }

        var type = meta.ElementDataType == Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float16 ? DataType.Float16 : DataType.Float;
        using var input = new OnnxNoisePredictor.Buffer(type, dims);
        input.Write(scaled);
        using var runOptions = new RunOptions();
        IDisposableReadOnlyCollection<OrtValue> outputs;
        try
        {
            outputs = session.Run(runOptions, [inputName], [input.Value], [session.OutputNames[0]]);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ForgeInputException($"{decoderPath}: the decoder failed on latents [{string.Join(",", dims)}]: {OrtSessions.FirstLine(e.Message)}", e);
        }

        using var owned = outputs;
        var output = outputs[0];
        var shape = output.GetTensorTypeAndShape();
        if (shape.Shape.Length != 4 || shape.Shape[1] != 3)
        {
            throw new ForgeInputException($"{decoderPath}: decoder output is [{string.Join(",", shape.Shape)}], expected [1,3,H,W]");
        }

        var (h, w) = ((int)shape.Shape[2], (int)shape.Shape[3]);
        var n = 3 * h * w;
        var rgb = new double[n];
        if (shape.ElementDataType == Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float16)
        {
            var half = output.GetTensorDataAsSpan<Float16>();
            for (var i = 0; i < n; i++)
            {
                rgb[i] = ToUnit((float)(Half)BitConverter.UInt16BitsToHalf(half[i].value));
            }
        }
        else
        {
            var single = output.GetTensorDataAsSpan<float>();
            for (var i = 0; i < n; i++)
            {
                rgb[i] = ToUnit(single[i]);
            }
        }

        return new Image(w, h, rgb);
    }

    private static double ToUnit(double v) => double.IsFinite(v) ? Math.Clamp((v / 2) + 0.5, 0, 1) : 0;

    /// <summary>reference | candidate | |difference| × <see cref="DifferenceGain"/>, one PNG.</summary>
    public static byte[] EncodeStrip(Image reference, Image candidate)
    {
        var (w, h) = (reference.Width, reference.Height);
        var plane = w * h;
        var stride = 3 * w * 3;
        var bytes = new byte[stride * h];
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                for (var c = 0; c < 3; c++)
                {
                    var r = reference.Rgb[(c * plane) + (y * w) + x];
                    var k = candidate.Rgb[(c * plane) + (y * w) + x];
                    bytes[(y * stride) + (x * 3) + c] = Byte(r);
                    bytes[(y * stride) + ((w + x) * 3) + c] = Byte(k);
                    bytes[(y * stride) + (((2 * w) + x) * 3) + c] = Byte(Math.Abs(r - k) * DifferenceGain);
                }
            }
        }

        return PngWriter.EncodeRgb(3 * w, h, bytes);
    }

    private static byte Byte(double unit) => (byte)Math.Round(Math.Clamp(unit, 0, 1) * 255);
}
