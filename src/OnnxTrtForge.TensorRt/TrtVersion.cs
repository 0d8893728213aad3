using System.Globalization;
using System.Text.RegularExpressions;

namespace OnnxTrtForge.TensorRt;

/// <summary>
/// A TensorRT version. trtexec's banner encodes it as one number: <c>[TensorRT v8503]</c> = 8.5.3
/// (major·1000 + minor·100 + patch) and <c>[TensorRT v100800]</c> = 10.8.0 (major·10000 + minor·100 + patch).
/// </summary>
public readonly partial record struct TrtVersion(int Major, int Minor, int Patch) : IComparable<TrtVersion>
{
    public static TrtVersion FromBannerNumber(int number) => number >= 100000
        ? new TrtVersion(number / 10000, number / 100 % 100, number % 100)
        : new TrtVersion(number / 1000, number / 100 % 10, number % 100);

    /// <summary>Parses "8.6", "10.8.0", "v100800" or "100800".</summary>
    public static bool TryParse(string? text, out TrtVersion version)
    {
        version = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var t = text.Trim().TrimStart('v', 'V');
        if (!t.Contains('.', StringComparison.Ordinal))
        {
            if (int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1000)
            {
                version = FromBannerNumber(n);
                return true;
            }

            if (int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var major) && major is > 0 and < 100)
            {
                version = new TrtVersion(major, 0, 0);
                return true;
            }

            return false;
        }

        var parts = t.Split('.');
        if (parts.Length is < 2 or > 4)
        {
            return false;
        }

        var numbers = new int[3];
        for (var i = 0; i < Math.Min(3, parts.Length); i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out numbers[i]))
            {
                return false;
            }
        }

        version = new TrtVersion(numbers[0], numbers[1], numbers[2]);
        return true;
    }

    /// <summary>The version named by a trtexec log: the <c>&amp;&amp;&amp;&amp; RUNNING</c> banner, or <c>TensorRT version: X.Y.Z</c>.</summary>
    public static TrtVersion? FromLogLine(string line)
    {
        var banner = BannerPattern().Match(line);
        if (banner.Success && int.TryParse(banner.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            return FromBannerNumber(n);
        }

        var stated = StatedPattern().Match(line);
        return stated.Success && TryParse(stated.Groups[1].Value, out var v) ? v : null;
    }

    public bool IsAtLeast(int major, int minor = 0) => CompareTo(new TrtVersion(major, minor, 0)) >= 0;

    public int CompareTo(TrtVersion other) =>
        Major != other.Major ? Major.CompareTo(other.Major) : Minor != other.Minor ? Minor.CompareTo(other.Minor) : Patch.CompareTo(other.Patch);

    public static bool operator <(TrtVersion a, TrtVersion b) => a.CompareTo(b) < 0;

    public static bool operator >(TrtVersion a, TrtVersion b) => a.CompareTo(b) > 0;

    public static bool operator <=(TrtVersion a, TrtVersion b) => a.CompareTo(b) <= 0;

    public static bool operator >=(TrtVersion a, TrtVersion b) => a.CompareTo(b) >= 0;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Major}.{Minor}.{Patch}");

    [GeneratedRegex(@"\[TensorRT v(\d{4,6})\]")]
    private static partial Regex BannerPattern();

    [GeneratedRegex(@"TensorRT version:\s*v?(\d+\.\d+(?:\.\d+)*)")]
    private static partial Regex StatedPattern();
}
