namespace OnnxTrtForge.Validation.Schedulers;

/// <summary>
/// A documented, platform-independent Gaussian generator: xoshiro256** seeded through splitmix64, normal deviates by
/// the Box–Muller transform (both deviates of a pair are used, cosine first). Its stream is forge's own; it is not
/// meant to match torch's generator.
/// </summary>
public sealed class SeededGaussian
{
    private ulong s0;
    private ulong s1;
    private ulong s2;
    private ulong s3;
    private double spare;
    private bool hasSpare;

    public SeededGaussian(ulong seed)
    {
        var x = seed;
        s0 = SplitMix(ref x);
        s1 = SplitMix(ref x);
        s2 = SplitMix(ref x);
        s3 = SplitMix(ref x);
    }

    public ulong NextUInt64()
    {
        var result = RotateLeft(s1 * 5, 7) * 9;
        var t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = RotateLeft(s3, 45);
        return result;
    }

    /// <summary>Uniform in (0, 1]: 53 random bits, never zero (so the logarithm is finite).</summary>
    public double NextUniform() => ((NextUInt64() >> 11) + 1) * (1.0 / (1UL << 53));

    public double NextGaussian()
    {
        if (hasSpare)
        {
            hasSpare = false;
            return spare;
        }

        var r = Math.Sqrt(-2.0 * Math.Log(NextUniform()));
        var theta = 2.0 * Math.PI * NextUniform();
        spare = r * Math.Sin(theta);
        hasSpare = true;
        return r * Math.Cos(theta);
    }

    public void Fill(Span<double> destination)
    {
        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = NextGaussian();
        }
    }

    private static ulong SplitMix(ref ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        var z = x;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));
}
