namespace OnnxTrtForge.Core.Evaluation;

/// <summary>Special functions .NET lacks, accurate to double precision well beyond what fp32 folding needs.</summary>
public static class SpecialFunctions
{
    /// <summary>The error function: Maclaurin series for |x| &lt; 2.5, Lentz continued fraction of erfc beyond.</summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x))
        {
            return x;
        }

        var a = Math.Abs(x);
        double result;
        if (a < 2.5)
        {
            double sum = 0;
            var term = a;
            for (var n = 0; n < 200; n++)
            {
                var contribution = term / ((2 * n) + 1);
                sum += contribution;
                if (Math.Abs(contribution) < 1e-17 * Math.Abs(sum))
                {
                    break;
                }

                term *= -a * a / (n + 1);
            }

            result = 2 / Math.Sqrt(Math.PI) * sum;
        }
        else if (a > 6)
        {
            result = 1;
        }
        else
        {
            // erfc(a) = exp(-a^2)/sqrt(pi) * 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + 2/(a + ...))))).
            double f = a;
            for (var k = 60; k >= 1; k--)
            {
                f = a + (k / 2.0 / f);
            }

            result = 1 - (Math.Exp(-a * a) / Math.Sqrt(Math.PI) / f);
        }

        return x < 0 ? -result : result;
    }
}
