using BigGustave;

namespace OnnxTrtForge.Validation.Tests;

/// <summary>PngWriter's output read back by an independent decoder (BigGustave), pixel for pixel.</summary>
public sealed class PngWriterTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 3)]
    [InlineData(192, 64)]
    public void Writes_rgb_pixels_an_independent_decoder_reads_back_exactly(int width, int height)
    {
        var random = new Random(width * 1000 + height);
        var rgb = new byte[3 * width * height];
        random.NextBytes(rgb);

        var png = Png.Open(PngWriter.EncodeRgb(width, height, rgb));

        Assert.Equal(width, png.Width);
        Assert.Equal(height, png.Height);
        Assert.False(png.HasAlphaChannel);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var i = 3 * ((y * width) + x);
                Assert.Equal(new Pixel(rgb[i], rgb[i + 1], rgb[i + 2]), png.GetPixel(x, y));
            }
        }
    }

    [Fact]
    public void Computes_the_png_crc_of_the_iend_chunk()
    {
        // Every PNG ends with the same IEND chunk, CRC 0xAE426082 (PNG specification, section 5.3).
        var crc = PngWriter.Crc32(0xFFFFFFFFu, "IEND"u8) ^ 0xFFFFFFFFu;
        Assert.Equal(0xAE426082u, crc);
        var png = PngWriter.EncodeRgb(1, 1, [1, 2, 3]);
        Assert.Equal<byte>([0, 0, 0, 0, (byte)'I', (byte)'E', (byte)'N', (byte)'D', 0xAE, 0x42, 0x60, 0x82], png[^12..]);
    }

    [Fact]
    public void Refuses_pixels_that_do_not_fill_the_size()
    {
        Assert.Throws<ArgumentException>(() => PngWriter.EncodeRgb(2, 2, new byte[11]));
    }
}
