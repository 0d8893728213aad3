namespace OnnxTrtForge.Validation.Schedulers;

/// <summary>
/// Adaptive Gauss–Kronrod (7/15) quadrature, the rule family of QUADPACK that scipy.integrate.quad uses; forge needs it
/// for the LMS coefficients (integrals of Lagrange basis polynomials, which the 15-point rule already integrates exactly).
/// </summary>
public static class Quadrature
{
    private static readonly double[] KronrodNodes =
    [
        0.991455371120812639206854697526329, 0.949107912342758524526189684047851, 0.864864423359769072789712788640926,
        0.741531185599394439863864773280788, 0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
        0.207784955007898467600689403773245, 0.000000000000000000000000000000000,
    ];

    private static readonly double[] KronrodWeights =
    [
        0.022935322010529224963732008058970, 0.063092092629978553290700663189204, 0.104790010322250183839876322541518,
        0.140653259715525918745189590510238, 0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
        0.204432940075298892414161999234649, 0.209482141084727828012999174891714,
    ];

    // Gauss weights for the odd-indexed Kronrod nodes (0.949.., 0.741.., 0.405.., 0).
    private static readonly double[] GaussWeights =
    [
        0.129484966168869693270611432679082, 0.279705391489276667901467771423780, 0.381830050505118944950369775488975,
        0.417959183673469387755102040816327,
    ];

    /// <summary>∫_a^b f, to a relative tolerance (absolute floor 1e-14 of the scale); b &lt; a gives the negated integral.</summary>
    public static double Integrate(Func<double, double> f, double a, double b, double relativeTolerance = 1e-12, int maxDepth = 30)
    {
        var (estimate, error) = Rule(f, a, b);
        return Refine(f, a, b, estimate, error, relativeTolerance, maxDepth);
    }

    private static double Refine(Func<double, double> f, double a, double b, double estimate, double error, double tol, int depth)
    {
        if (error <= Math.Max(tol * Math.Abs(estimate), 1e-300) || depth == 0)
        {
            return estimate;
        }

        var mid = 0.5 * (a + b);
        var (left, leftError) = Rule(f, a, mid);
        var (right, rightError) = Rule(f, mid, b);
        return Refine(f, a, mid, left, leftError, tol, depth - 1) + Refine(f, mid, b, right, rightError, tol, depth - 1);
    }

    private static (double Estimate, double Error) Rule(Func<double, double> f, double a, double b)
    {
        var center = 0.5 * (a + b);
        var half = 0.5 * (b - a);
        var fc = f(center);
        var kronrod = fc * KronrodWeights[7];
        var gauss = fc * GaussWeights[3];
        for (var j = 0; j < 7; j++)
        {
            var dx = half * KronrodNodes[j];
            var sum = f(center - dx) + f(center + dx);
            kronrod += KronrodWeights[j] * sum;
            if (j % 2 == 1)
            {
                gauss += GaussWeights[j / 2] * sum;
            }
        }

        return (kronrod * half, Math.Abs((kronrod - gauss) * half));
    }
}
