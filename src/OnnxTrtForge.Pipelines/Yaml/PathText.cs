namespace OnnxTrtForge.Pipelines.Yaml;

/// <summary>Turns a path written in a YAML file into an absolute path: relative to that file's folder, <c>~/</c> = home.</summary>
public static class PathText
{
    public static string Resolve(string text, string baseDirectory)
    {
        var t = text.Trim();
        if (t == "~" || t.StartsWith("~/", StringComparison.Ordinal))
        {
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            t = t.Length <= 2 ? home : Path.Combine(home, t[2..]);
        }

        return Path.GetFullPath(Path.Combine(baseDirectory, t));
    }
}
