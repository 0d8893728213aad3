using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization;

namespace OnnxTrtForge.Validation;

/// <summary>What <see cref="CheckedOutput.Save"/> did: the check, and where the model went (the output, or the rejected name).</summary>
public sealed record CheckedSaveResult(OptimizeCheckResult Check, SaveResult Saved)
{
    public bool Passed => Check.Passed;
}

/// <summary>
/// Writes an optimized model to its output only after <see cref="OptimizeCheck"/> passed. The model is
/// staged in a hidden folder beside the output (same file name, so its external data keeps its name),
/// checked there, then renamed into place. A model that fails the check never reaches the output: it is
/// kept as <c>NAME.rejected.onnx</c> (see <see cref="RejectedPath"/>) for inspection.
/// </summary>
public static class CheckedOutput
{
    /// <summary><c>dir/unet.onnx</c> → <c>dir/unet.rejected.onnx</c>.</summary>
    public static string RejectedPath(string output)
    {
        var full = Path.GetFullPath(output);
        return Path.Combine(Path.GetDirectoryName(full)!, Path.GetFileNameWithoutExtension(full) + ".rejected" + Path.GetExtension(full));
    }

    /// <param name="runner">Where the check runs: in this process when null; the forge executable passes its <see cref="ChildProcessCheckRunner"/>.</param>
    public static CheckedSaveResult Save(Model model, string originalPath, string output, SaveOptions? save, OptimizeCheckOptions? check, IOptimizeCheckRunner? runner = null, CancellationToken cancellationToken = default)
    {
        var full = Path.GetFullPath(output);
        var folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        var stage = Path.Combine(folder, ".forge-check-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(stage);
        try
        {
            var staged = OnnxWriter.Save(model, Path.Combine(stage, Path.GetFileName(full)), save);
            OptimizeCheckResult result;
            try
            {
                result = (runner ?? InProcessCheckRunner.Instance).Run(originalPath, staged.ModelPath, check ?? new OptimizeCheckOptions(), cancellationToken);
            }
            catch (ForgeInputException e) when (e.Message.Contains(staged.ModelPath, StringComparison.Ordinal))
            {
                // the staged copy is an implementation detail: errors name the output the user asked for
                throw new ForgeInputException(e.Message.Replace(staged.ModelPath, output, StringComparison.Ordinal), e);
            }
            catch (PassFailedException e) when (e.Message.Contains(staged.ModelPath, StringComparison.Ordinal))
            {
                throw new PassFailedException(e.Message.Replace(staged.ModelPath, output, StringComparison.Ordinal), e);
            }

            cancellationToken.ThrowIfCancellationRequested();
            if (!result.Passed)
            {
                var rejected = RejectedPath(full);
                var kept = staged.DataPath is null ? Move(staged, rejected) : OnnxWriter.Save(model, rejected, save);
                return new CheckedSaveResult(result, kept);
            }

            return new CheckedSaveResult(result, Move(staged, full));
        }
        finally
        {
            Directory.Delete(stage, recursive: true);
        }
    }

    /// <summary>Renames the staged files into place, the data file first so the model never points at a missing one.</summary>
    private static SaveResult Move(SaveResult staged, string target)
    {
        string? data = null;
        if (staged.DataPath is not null)
        {
            data = target + ".data";
            File.Move(staged.DataPath, data, overwrite: true);
        }

        File.Move(staged.ModelPath, target, overwrite: true);
        return staged with { ModelPath = target, DataPath = data };
    }
}
