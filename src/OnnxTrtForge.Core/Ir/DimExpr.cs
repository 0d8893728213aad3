using System.Globalization;
using System.Text;

namespace OnnxTrtForge.Core.Ir;

/// <summary>
/// A dimension as an integer expression over symbols, in a normal form so that equality is structural:
/// a sum of <c>coefficient × monomial</c>, a monomial being a sorted product of atoms, an atom being a
/// symbol (a graph input's <c>dim_param</c>) or <c>floor(expression / constant)</c>. Symbols stand for
/// sizes, so they are never negative; floor division is only formed over expressions known to be
/// non-negative (where ONNX's truncating integer division and floor agree). All arithmetic is checked
/// 64-bit: an overflow, or an expression larger than a few terms, gives null (unknown), never a wrapped
/// value.
/// </summary>
public sealed class DimExpr : IEquatable<DimExpr>
{
    private const int MaxTerms = 12;
    private const int MaxDegree = 6;

    /// <summary>Monomial key ("" for the constant term) → term.</summary>
    private readonly SortedDictionary<string, Term> terms;

    private DimExpr(SortedDictionary<string, Term> terms)
    {
        this.terms = terms;
        Text = Render(terms);
    }

    /// <summary>The canonical text (also what is written as the dim_param of an inferred value).</summary>
    public string Text { get; }

    /// <summary>The value when the expression has no symbols.</summary>
    public long? Constant => terms.Count == 0 ? 0 : terms.Count == 1 && terms.TryGetValue("", out var t) ? t.Coefficient : null;

    public bool IsConstant => Constant.HasValue;

    /// <summary>The symbol's name when the expression is exactly one symbol.</summary>
    public string? SymbolName => terms.Count == 1 && terms.Values.First() is { Coefficient: 1, Atoms: [{ Symbol: { } s }] } ? s : null;

    /// <summary>True when every coefficient is non-negative (so the value is, for every value of the symbols).</summary>
    public bool NonNegative => terms.Values.All(t => t.Coefficient >= 0);

    /// <summary>The symbol names the expression mentions (inside floor divisions too).</summary>
    public IEnumerable<string> Symbols => terms.Values.SelectMany(t => t.Atoms).SelectMany(a => a.Symbol is { } s ? [s] : a.Numerator!.Symbols).Distinct();

    public static DimExpr Const(long value) => value == 0 ? new DimExpr([]) : new DimExpr(new SortedDictionary<string, Term>(StringComparer.Ordinal) { [""] = new Term(value, []) });

    public static DimExpr Symbol(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var plain = name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.');
        var atom = new Atom(plain ? name : "'" + name + "'", name, null, 0);
        return new DimExpr(new SortedDictionary<string, Term>(StringComparer.Ordinal) { [atom.Key] = new Term(1, [atom]) });
    }

    public static DimExpr? Add(DimExpr? a, DimExpr? b) => a is null || b is null ? null : Guard(() => Combine(a, b, 1));

    public static DimExpr? Subtract(DimExpr? a, DimExpr? b) => a is null || b is null ? null : Guard(() => Combine(a, b, -1));

    public static DimExpr? Multiply(DimExpr? a, DimExpr? b)
    {
        if (a is null || b is null)
        {
            return null;
        }

        return Guard(() =>
        {
            var result = new SortedDictionary<string, Term>(StringComparer.Ordinal);
            foreach (var x in a.terms.Values)
            {
                foreach (var y in b.terms.Values)
                {
                    var atoms = x.Atoms.Concat(y.Atoms).OrderBy(t => t.Key, StringComparer.Ordinal).ToArray();
                    if (atoms.Length > MaxDegree)
                    {
                        return null;
                    }

                    AddTerm(result, new Term(checked(x.Coefficient * y.Coefficient), atoms));
                }
            }

            return result.Count > MaxTerms ? null : new DimExpr(result);
        });
    }

    /// <summary>
    /// <c>floor(a / divisor)</c> for a positive constant divisor and a non-negative <paramref name="a"/>:
    /// multiples of the divisor leave the floor exactly (<c>floor((c·A + B)/c) = A + floor(B/c)</c>), nested
    /// floors merge (<c>floor(floor(X/p)/q) = floor(X/(p·q))</c>); null otherwise.
    /// </summary>
    public static DimExpr? FloorDivide(DimExpr? a, long divisor)
    {
        if (divisor == 1 || a is null)
        {
            return a;
        }

        if (divisor <= 0 || !a.NonNegative)
        {
            return null;
        }

        return Guard(() =>
        {
            var whole = new SortedDictionary<string, Term>(StringComparer.Ordinal);
            var rest = new SortedDictionary<string, Term>(StringComparer.Ordinal);
            foreach (var (key, t) in a.terms)
            {
                if (t.Coefficient / divisor != 0)
                {
                    whole[key] = t with { Coefficient = t.Coefficient / divisor };
                }

                if (t.Coefficient % divisor != 0)
                {
                    rest[key] = t with { Coefficient = t.Coefficient % divisor };
                }
            }

            var quotient = new DimExpr(whole);
            if (rest.Count == 0 || (rest.Count == 1 && rest.ContainsKey("")))
            {
                // the constant remainder is below the divisor: its floor is 0
                return quotient;
            }

            var remainder = new DimExpr(rest);
            var offset = rest.TryGetValue("", out var c) ? c.Coefficient : 0;
            var symbolic = rest.Where(p => p.Key.Length > 0).ToList();
            Atom atom;
            if (symbolic.Count == 1 && symbolic[0].Value is { Coefficient: 1, Atoms: [{ Numerator: { } inner, Divisor: var d }] })
            {
                // floor((floor(X/d) + c)/q) = floor((X + c·d)/(d·q)) for c >= 0
                var merged = checked(d * divisor);
                var numerator = Combine(inner, Const(checked(offset * d)), 1)!;
                atom = new Atom($"floor(({numerator.Text})/{merged.ToString(CultureInfo.InvariantCulture)})", null, numerator, merged);
            }
            else
            {
                atom = new Atom($"floor(({remainder.Text})/{divisor.ToString(CultureInfo.InvariantCulture)})", null, remainder, divisor);
            }

            var floor = new DimExpr(new SortedDictionary<string, Term>(StringComparer.Ordinal) { [atom.Key] = new Term(1, [atom]) });
            return Combine(quotient, floor, 1);
        });
    }

    /// <summary>
    /// <c>a / b</c> when it is exact for every value of the symbols: b a non-zero constant dividing every
    /// coefficient, or b a single term whose coefficient and atoms divide every term of a. Null otherwise.
    /// </summary>
    public static DimExpr? ExactDivide(DimExpr? a, DimExpr? b)
    {
        if (a is null || b is null || b.terms.Count != 1)
        {
            return null;
        }

        var divisor = b.terms.Values.First();
        if (divisor.Coefficient == 0)
        {
            return null;
        }

        var result = new SortedDictionary<string, Term>(StringComparer.Ordinal);
        foreach (var t in a.terms.Values)
        {
            if (t.Coefficient % divisor.Coefficient != 0)
            {
                return null;
            }

            var atoms = t.Atoms.ToList();
            foreach (var atom in divisor.Atoms)
            {
                var at = atoms.FindIndex(x => x.Key == atom.Key);
                if (at < 0)
                {
                    return null;
                }

                atoms.RemoveAt(at);
            }

            AddTerm(result, new Term(t.Coefficient / divisor.Coefficient, [.. atoms]));
        }

        return new DimExpr(result);
    }

    public bool Equals(DimExpr? other) => other is not null && Text == other.Text;

    public override bool Equals(object? obj) => obj is DimExpr other && Equals(other);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Text);

    public override string ToString() => Text;

    public static bool operator ==(DimExpr? a, DimExpr? b) => a is null ? b is null : a.Equals(b);

    public static bool operator !=(DimExpr? a, DimExpr? b) => !(a == b);

    private static DimExpr? Guard(Func<DimExpr?> compute)
    {
        try
        {
            return compute();
        }
        catch (OverflowException)
        {
            return null;
        }
    }

    private static DimExpr? Combine(DimExpr a, DimExpr b, long sign)
    {
        var result = new SortedDictionary<string, Term>(a.terms, StringComparer.Ordinal);
        foreach (var t in b.terms.Values)
        {
            AddTerm(result, t with { Coefficient = checked(sign * t.Coefficient) });
        }

        return result.Count > MaxTerms ? null : new DimExpr(result);
    }

    private static void AddTerm(SortedDictionary<string, Term> terms, Term term)
    {
        var key = string.Join("*", term.Atoms.Select(a => a.Key));
        var sum = terms.TryGetValue(key, out var existing) ? checked(existing.Coefficient + term.Coefficient) : term.Coefficient;
        if (sum == 0)
        {
            terms.Remove(key);
        }
        else
        {
            terms[key] = new Term(sum, term.Atoms);
        }
    }

    private static string Render(SortedDictionary<string, Term> terms)
    {
        if (terms.Count == 0)
        {
            return "0";
        }

        var text = new StringBuilder();
        foreach (var (key, t) in terms.Where(p => p.Key.Length > 0).Concat(terms.Where(p => p.Key.Length == 0)))
        {
            var coefficient = t.Coefficient.ToString(CultureInfo.InvariantCulture);
            var piece = key.Length == 0 ? coefficient : t.Coefficient switch { 1 => key, -1 => "-" + key, _ => coefficient + "*" + key };
            if (text.Length > 0 && !piece.StartsWith('-'))
            {
                text.Append('+');
            }

            text.Append(piece);
        }

        return text.ToString();
    }

    /// <summary>A symbol, or floor(Numerator / Divisor).</summary>
    private sealed record Atom(string Key, string? Symbol, DimExpr? Numerator, long Divisor);

    private sealed record Term(long Coefficient, Atom[] Atoms);
}
