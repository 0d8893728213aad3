using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Validation;

/// <summary>
/// How far a candidate tensor is from a reference: relative L2 (‖c − r‖ / ‖r‖), max and mean absolute error, cosine
/// similarity, and the non-finite elements of either side (count and first index). Metrics are computed over the
/// finite pairs only, so one NaN does not hide how the rest compares.
/// </summary>
public sealed record TensorMetrics(
    long Count,
    double RelativeL2,
    double MaxAbsError,
    double MeanAbsError,
    double Cosine,
    double ReferenceL2,
    long NonFiniteReference,
    long NonFiniteCandidate,
    long FirstNonFiniteIndex)
{
    public bool HasNonFinite => NonFiniteReference > 0 || NonFiniteCandidate > 0;
}

/// <summary>Tensor comparison metrics, the one place forge computes them (validate, optimize --check).</summary>
public static class TensorComparison
{
    public static TensorMetrics Compare(ReadOnlySpan<double> reference, ReadOnlySpan<double> candidate)
    {
        CheckLengths(reference.Length, candidate.Length);
        var acc = new Accumulator();
        for (var i = 0; i < reference.Length; i++)
        {
            acc.Add(i, reference[i], candidate[i]);
        }

        return acc.Result(reference.Length);
    }

    public static TensorMetrics Compare(ReadOnlySpan<float> reference, ReadOnlySpan<float> candidate)
    {
        CheckLengths(reference.Length, candidate.Length);
        var acc = new Accumulator();
        for (var i = 0; i < reference.Length; i++)
        {
            acc.Add(i, reference[i], candidate[i]);
        }

        return acc.Result(reference.Length);
    }

    /// <summary>Compares two floating-point tensors of the same element count (types may differ: fp16 against fp32).</summary>
    public static TensorMetrics Compare(Tensor reference, Tensor candidate)
    {
        if (reference.ElementCount != candidate.ElementCount)
        {
            throw new ArgumentException($"cannot compare {reference} with {candidate}: element counts differ");
        }

        return Compare(reference.ToDoubleArray(), candidate.ToDoubleArray());
    }

    /// <summary>The number of NaN/Inf elements and the index of the first (-1 when none).</summary>
    public static (long Count, long FirstIndex) NonFinite(ReadOnlySpan<float> values)
    {
        long count = 0;
        long first = -1;
        for (var i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                count++;
                if (first < 0)
                {
                    first = i;
                }
            }
        }

        return (count, first);
    }

    /// <summary>The number of NaN/Inf elements and the index of the first (-1 when none).</summary>
    public static (long Count, long FirstIndex) NonFinite(ReadOnlySpan<double> values)
    {
        long count = 0;
        long first = -1;
        for (var i = 0; i < values.Length; i++)
        {
            if (!double.IsFinite(values[i]))
            {
                count++;
                if (first < 0)
                {
                    first = i;
                }
            }
        }

        return (count, first);
    }

    /// <summary>Peak signal-to-noise ratio in dB for values whose range is <paramref name="peak"/>; +∞ when identical.</summary>
    public static double Psnr(ReadOnlySpan<double> reference, ReadOnlySpan<double> candidate, double peak)
    {
        CheckLengths(reference.Length, candidate.Length);
        double sum = 0;
        for (var i = 0; i < reference.Length; i++)
        {
            var d = reference[i] - candidate[i];
            sum += d * d;
        }

        var mse = sum / reference.Length;
        return mse == 0 ? double.PositiveInfinity : 10 * Math.Log10(peak * peak / mse);
    }

    private static void CheckLengths(int a, int b)
    {
        if (a != b)
        {
            throw new ArgumentException($"cannot compare tensors of {a} and {b} elements");
        }
    }

    private struct Accumulator
    {
        private double diff2;
        private double ref2;
        private double cand2;
        private double dot;
        private double maxAbs;
        private double sumAbs;
        private long finite;
        private long badRef;
        private long badCand;
        private long firstBad;

        public Accumulator() => firstBad = -1;

        public void Add(long index, double r, double c)
        {
            var rf = double.IsFinite(r);
            var cf = double.IsFinite(c);
            if (!rf || !cf)
            {
                badRef += rf ? 0 : 1;
                badCand += cf ? 0 : 1;
                if (firstBad < 0)
                {
                    firstBad = index;
                }

                return;
            }

            var d = c - r;
            diff2 += d * d;
            ref2 += r * r;
            cand2 += c * c;
            dot += r * c;
            var a = Math.Abs(d);
            sumAbs += a;
            maxAbs = Math.Max(maxAbs, a);
            finite++;
        }

        public readonly TensorMetrics Result(long count)
        {
            var refNorm = Math.Sqrt(ref2);
            var relative = refNorm > 0 ? Math.Sqrt(diff2) / refNorm : (diff2 > 0 ? double.PositiveInfinity : 0);
            var cosine = ref2 > 0 && cand2 > 0 ? dot / (refNorm * Math.Sqrt(cand2)) : (ref2 == cand2 ? 1 : 0);
            return new TensorMetrics(count, relative, maxAbs, finite > 0 ? sumAbs / finite : 0, cosine, refNorm, badRef, badCand, firstBad);
        }
    }
}
