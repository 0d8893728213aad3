namespace OnnxTrtForge.Core.Reports;

/// <summary>Writes a file through a temporary name and a rename, so readers never see a partial file.</summary>
public static class AtomicFile
{
    public static void WriteAllText(string path, string text) => Write(path, tmp => File.WriteAllText(tmp, text));

    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, tmp => File.WriteAllBytes(tmp, bytes));

    public static void Write(string path, Action<string> writeTemp)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var tmp = Path.Combine(Path.GetDirectoryName(full)!, "." + Path.GetFileName(full) + ".tmp-" + Guid.NewGuid().ToString("N")[..8]);
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
