namespace OnnxTrtForge.Testing;

/// <summary>Locates the repository's copied fixtures (tests/fixtures) from a test's output folder.</summary>
internal static class Fixtures
{
    public static string Root { get; } = FindRoot();

    public static string Dir(string name) => Path.Combine(Root, name);

    public static string Model(string name) => Path.Combine(Root, name, "model.onnx");

    public static string RepoRoot => Path.GetFullPath(Path.Combine(Root, "..", ".."));

    public static readonly string[] Models =
    [
        "tiny_unet_opset12_fp16_aten",
        "tiny_unet_opset12_fp16",
        "tiny_unet_opset12_fp32",
        "tiny_unet_dynamo18_fp32",
        "tiny_vae_decoder_opset12_fp32",
    ];

    private static string FindRoot()
    {
        var root = typeof(Fixtures).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "ForgeRepoRoot")?.Value;
        if (root is not null && Directory.Exists(Path.Combine(root, "tests", "fixtures")))
        {
            return Path.GetFullPath(Path.Combine(root, "tests", "fixtures"));
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "fixtures");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("tests/fixtures not found above " + AppContext.BaseDirectory);
    }

    /// <summary>A fresh temporary folder, removed when disposed.</summary>
    public static TempDir Temp() => new();
}

internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "forge-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
