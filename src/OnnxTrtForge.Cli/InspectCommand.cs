using System.CommandLine;
using OnnxTrtForge.Core;
using OnnxTrtForge.Core.Passes;
using OnnxTrtForge.Core.Reports;
using OnnxTrtForge.Core.Serialization;
using Spectre.Console;

namespace OnnxTrtForge.Cli;

/// <summary><c>forge inspect MODEL [--json]</c>: producer, opsets, signature, op census, weights, of a model admission accepts.</summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var model = CliConventions.MustBeFile(new Argument<string>("model") { Description = "The ONNX model to inspect." });
        var json = new Option<bool>("--json") { Description = "Print the summary as JSON." };
        var command = new Command("inspect", "Show a model's producer, opsets, inputs/outputs, op census and weights.") { model, json };
        command.SetAction(parse =>
        {
            var path = parse.GetValue(model)!;
            using var loaded = OnnxReader.Load(path);

            // what optimize refuses before any pass (unknown opsets and ops, a Cast to no type, wrong input counts,
            // conflicting element types) is bad input here too, not a summary of a model nothing can run
            ModelAdmission.Check(loaded);
            var summary = ModelSummary.Of(loaded, path);
            if (parse.GetValue(json))
            {
                Console.Out.WriteLine(ReportJson.Serialize(summary, CoreJson.Reports.ModelSummary));
            }
            else
            {
                Print(summary);
            }

            return ExitCode.Ok;
        });
        return command;
    }

    private static void Print(ModelSummary s)
    {
        var console = AnsiConsole.Console;
        console.MarkupLine($"[bold]{Markup.Escape(s.Path)}[/]");
        console.MarkupLine($"producer: {Markup.Escape(s.Producer)}   IR version: {s.IrVersion}   opsets: {Markup.Escape(string.Join(", ", s.Opsets.Select(o => $"{o.Key} {o.Value}")))}");
        var io = new Table().Border(TableBorder.Rounded).AddColumns("", "name", "type", "shape");
        foreach (var i in s.Inputs)
        {
            io.AddRow("input", Markup.Escape(i.Name), i.ElementType, Markup.Escape("[" + string.Join(", ", i.Shape) + "]"));
        }

        foreach (var o in s.Outputs)
        {
            io.AddRow("output", Markup.Escape(o.Name), o.ElementType, Markup.Escape("[" + string.Join(", ", o.Shape) + "]"));
        }

        console.Write(io);
        var census = new Table().Border(TableBorder.Rounded).AddColumn("op").AddColumn(new TableColumn("count").RightAligned());
        foreach (var (op, count) in s.OpCensus)
        {
            census.AddRow(Markup.Escape(op), count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        census.AddRow("[bold]nodes[/]", $"[bold]{s.Nodes}[/]");
        census.AddRow("initializers", s.Initializers.ToString(System.Globalization.CultureInfo.InvariantCulture));
        console.Write(census);
        console.MarkupLine($"weights: {Format.Bytes(s.WeightBytesEmbedded)} embedded, {Format.Bytes(s.WeightBytesExternal)} external" +
            (s.ExternalFiles.Count > 0 ? $" ({Markup.Escape(string.Join(", ", s.ExternalFiles))})" : ""));
    }
}
