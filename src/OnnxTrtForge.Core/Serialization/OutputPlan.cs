using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Serialization;

/// <summary>
/// Every file one invocation reads and writes, resolved before any work. The inputs are resolved with
/// symbolic links followed (the model and each external data file it maps); each output is checked as it
/// is added: not a folder, not a device or FIFO, not under a regular file, in a folder this process can
/// write, not one of the inputs and not written twice. A model output reserves its <c>OUT.data</c> too,
/// the name <see cref="OnnxWriter"/> gives external data. Each refusal is one
/// <see cref="ForgeInputException"/> (exit 2) naming the path.
/// </summary>
public sealed class OutputPlan
{
    private readonly Dictionary<string, string> _reads = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _writes = new(StringComparer.Ordinal);

    /// <summary>A plan whose inputs are a loaded model's file and every external data file it maps.</summary>
    public static OutputPlan Reading(Model model)
    {
        var plan = new OutputPlan();
        if (model.SourcePath is { } source)
        {
            plan.Read(source, $"the input model '{source}'");
        }

        foreach (var file in model.MappedFiles.Where(f => !string.Equals(f.Path, model.SourcePath, StringComparison.Ordinal)))
        {
            plan.Read(file.Path, $"the input's external data '{file.Path}'");
        }

        return plan;
    }

    /// <summary>A plan reading the ONNX file at <paramref name="modelPath"/> and its external data (loaded, weights left unread).</summary>
    public static OutputPlan ReadingModelFile(string modelPath)
    {
        using var model = OnnxReader.Load(modelPath);
        return Reading(model);
    }

    /// <summary>The canonical paths (symbolic links followed) this invocation reads.</summary>
    public IReadOnlyCollection<string> Reads => _reads.Keys;

    /// <summary>The canonical paths this invocation may write.</summary>
    public IReadOnlyCollection<string> Writes => _writes.Keys;

    /// <summary>Adds a file this invocation reads; <paramref name="what"/> names it in refusals.</summary>
    public OutputPlan Read(string path, string what)
    {
        _reads.TryAdd(FilePaths.RealPath(path), what);
        return this;
    }

    /// <summary>
    /// Reserves an ONNX output and, unless weights are always embedded, its <c>OUT.data</c>; returns the
    /// model's full path.
    /// </summary>
    public string Model(string path, ExternalDataMode externalData = ExternalDataMode.Auto)
    {
        var full = File(path, "the output model");
        if (externalData != ExternalDataMode.Never)
        {
            File(full + ".data", $"the external data of '{path}'");
        }

        return full;
    }

    /// <summary>Reserves one output file (a report, an engine); returns its full path.</summary>
    public string File(string path, string what)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ForgeInputException($"'{path}': empty path for {what}");
        }

        var full = Path.GetFullPath(path);
        var name = Path.GetFileName(full);
        if (name.Length == 0 || path.EndsWith(Path.DirectorySeparatorChar) || name is "." or "..")
        {
            throw new ForgeInputException($"{path}: names a folder, not a file ({what})");
        }

        var folder = FilePaths.RealPath(Path.GetDirectoryName(full)!);
        var canonical = Path.Combine(folder, name);
        if (Directory.Exists(canonical))
        {
            throw new ForgeInputException($"{path}: is a directory, expected a file ({what})");
        }

        if (FilePaths.KindOf(canonical) == FileKind.Special)
        {
            throw new ForgeInputException($"{path}: not a regular file ({what})");
        }

        var target = FilePaths.RealPath(canonical);
        foreach (var candidate in new[] { canonical, target })
        {
            if (_reads.TryGetValue(candidate, out var input))
            {
                throw new ForgeInputException($"{path}: {what} would overwrite {input}");
            }

            if (_writes.TryGetValue(candidate, out var other))
            {
                throw new ForgeInputException($"{path}: {what} is also {other}");
            }
        }

        CheckFolder(path, folder, what);
        _writes[canonical] = what;
        return full;
    }

    /// <summary>The nearest existing ancestor must be a folder (not a regular file) this process can create files in.</summary>
    private static void CheckFolder(string path, string folder, string what)
    {
        var existing = folder;
        while (!Directory.Exists(existing))
        {
            if (System.IO.File.Exists(existing))
            {
                throw new ForgeInputException($"{path}: '{existing}' is a file, so nothing can be written under it ({what})");
            }

            existing = Path.GetDirectoryName(existing) ?? throw new ForgeInputException($"{path}: no existing folder above it ({what})");
        }

        var probe = Path.Combine(existing, ".forge-write-probe-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            using var stream = new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new ForgeInputException($"{path}: folder '{existing}' is not writable ({what}): {e.Message}", e);
        }
    }
}
