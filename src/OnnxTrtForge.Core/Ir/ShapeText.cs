using System.Globalization;

namespace OnnxTrtForge.Core.Ir;

/// <summary>The one spelling of a static shape on command lines and in YAML: <c>2x4x64x64</c>.</summary>
public static class ShapeText
{
    /// <summary>Parses non-negative dimensions joined by 'x' (or 'X' or ',', as trtexec accepts).</summary>
    public static bool TryParseDims(string text, out long[] dims)
    {
        dims = [];
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var parts = text.Trim().Split('x', 'X', ',');
        var result = new long[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!long.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out result[i]))
            {
                return false;
            }
        }

        dims = result;
        return true;
    }

    public static string Format(IEnumerable<long> dims) => string.Join('x', dims.Select(d => d.ToString(CultureInfo.InvariantCulture)));
}
