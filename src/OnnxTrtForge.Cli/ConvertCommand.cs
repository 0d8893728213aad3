using System.CommandLine;
using OnnxTrtForge.Core;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Reports;
using OnnxTrtForge.Core.Serialization;

namespace OnnxTrtForge.Cli;

/// <summary><c>forge convert MODEL -o OUT [--external-data always|never|auto]</c>: load and save, no passes.</summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var model = CliConventions.MustBeFile(new Argument<string>("model") { Description = "The ONNX model to read." });
        var output = CliConventions.MustBeFile(new Option<string>("--output", "-o") { Description = "Where to write the model.", Required = true });
        var external = CliConventions.EnumOption<ExternalDataMode>("--external-data", "Weights storage: auto (external above 2 GB), always, never.", ExternalDataMode.Auto);
        var command = new Command("convert", "Load and save a model with no passes (moves weights between embedded and external storage).") { model, output, external };
        command.SetAction(parse =>
        {
            var input = parse.GetValue(model)!;
            var target = parse.GetValue(output)!;
            var result = CommandProgress.Run("convert", $"loading {input}", progress =>
            {
                using var loaded = OnnxReader.Load(input);
                var mode = CliConventions.EnumValue<ExternalDataMode>(parse, external)!.Value;
                OutputPlan.Reading(loaded).Model(target, mode);
                var weights = loaded.Graph.Initializers.Sum(v => v.Initializer!.ByteLength);
                return OnnxWriter.Save(loaded, target, new SaveOptions { ExternalData = mode, Progress = progress.Bytes(target, weights) });
            });
            Console.Out.WriteLine($"wrote {result.ModelPath} ({Format.Bytes(result.ModelBytes)})" +
                (result.DataPath is null ? "" : $" + {Path.GetFileName(result.DataPath)} ({Format.Bytes(result.DataBytes)}, {result.ExternalTensors} tensors)"));
            return ExitCode.Ok;
        });
        return command;
    }
}
