namespace OnnxTrtForge.Core.Reports;

/// <summary>Writes a file through a temporary name and a rename, so readers never see a partial file.</summary>
public static class AtomicFile
{
    public static void WriteAllText(string path, string text) => Write(path, tmp => File.WriteAllText(tmp, text));

    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, tmp => File.WriteAllBytes(tmp, bytes));

    /// <summary>A hidden, unique name beside <paramref name="path"/>, in the same folder so the rename is atomic.</summary>
    public static string TempPathFor(string path)
    {
        var full = Path.GetFullPath(path);
        return Path.Combine(Path.GetDirectoryName(full)!, "." + Path.GetFileName(full) + ".tmp-" + Guid.NewGuid().ToString("N")[..8]);
    }

    public static void Write(string path, Action<string> writeTemp)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var tmp = TempPathFor(full);
        try
        {
            writeTemp(tmp);
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            if (File.Exists(tmp))
            {
                File.Delete(tmp);
            }

            throw;
        }
    }
}
