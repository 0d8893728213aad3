using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.TensorRt;

/// <summary>
/// Runs a built engine on given inputs through trtexec (<c>--loadEngine --loadInputs --exportOutput</c>):
/// each input is written as raw little-endian bytes, the exported output JSON is read back as float32
/// tensors (exportOutput prints numbers whatever the engine's output type).
/// </summary>
public sealed class EngineInference(TrtexecTool tool)
{
    public TrtexecTool Tool { get; } = tool;

    public TimeSpan? Timeout { get; init; }

    /// <summary>Locates trtexec (explicit path or PATH) and reads its version and stand-in marker.</summary>
    public static async Task<EngineInference> CreateAsync(string? trtexecPath, CancellationToken ct) =>
        new(await TrtexecTool.DetectAsync(TrtexecTool.Locate(trtexecPath), null, ct));

    public async Task<IReadOnlyList<Tensor>> RunAsync(string enginePath, IReadOnlyList<(string Name, Tensor Value)> inputs, IReadOnlyList<string> outputNames, CancellationToken ct)
    {
        var engine = Path.GetFullPath(enginePath);
        if (!File.Exists(engine))
        {
            throw new ForgeInputException($"{enginePath}: engine file not found");
        }

        var work = Directory.CreateTempSubdirectory("forge-infer-");
        try
        {
            var files = new List<(string Name, string File, IReadOnlyList<long> Dims)>();
            for (var i = 0; i < inputs.Count; i++)
            {
                var (name, value) = inputs[i];
                if (value.Strings is not null)
                {
                    throw new ForgeInputException($"input '{name}': string tensors cannot be fed to a TensorRT engine");
                }

                var file = Path.Combine(work.FullName, $"input_{i}.bin");
                await using (var stream = File.Create(file))
                {
                    value.Data.CopyTo(stream);
                }

                files.Add((name, file, value.Dims));
            }

            var output = Path.Combine(work.FullName, "output.json");
            var log = Path.Combine(work.FullName, "trtexec.log");
            var args = TrtexecArguments.Infer(Tool.Version, engine, files, output);
            var run = await TrtexecRunner.RunAsync(Tool.Path, args, log, Timeout, null, ct);
            ct.ThrowIfCancellationRequested();
            if (run.TimedOut || run.ExitCode != 0 || !File.Exists(output))
            {
                var reason = run.TimedOut
                    ? new FailureReason(FailureKind.Timeout, "trtexec did not finish the inference run in time")
                    : run.ExitCode != 0 ? TrtexecFailure.Classify(File.ReadLines(log), run.ExitCode)
                    : new FailureReason(FailureKind.Failed, "trtexec wrote no --exportOutput file");
                throw new TrtexecFailedException(reason, TrtexecRunner.FailureTail(run));
            }

            IReadOnlyList<ExportedOutput> outputs;
            try
            {
                outputs = TrtexecExports.ReadOutputs(output);
            }
            catch (FormatException e)
            {
                // a truncated or malformed export: the candidate could not be run, not a bug of forge's
                throw new TrtexecFailedException(new FailureReason(FailureKind.Failed, $"trtexec's --exportOutput is unreadable: {e.Message}"), run.Tail);
            }

            var exported = outputs.ToDictionary(o => o.Name, StringComparer.Ordinal);
            var result = new List<Tensor>(outputNames.Count);
            foreach (var name in outputNames)
            {
                if (!exported.TryGetValue(name, out var o))
                {
                    throw new TrtexecFailedException(
                        new FailureReason(FailureKind.Failed, $"{enginePath}: the engine has no output '{name}' (it exported: {string.Join(", ", exported.Keys)})"),
                        run.Tail);
                }

                result.Add(o.ToTensor());
            }

            return result;
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }
}
