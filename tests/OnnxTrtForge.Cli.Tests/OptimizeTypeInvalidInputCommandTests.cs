using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.Cli.Tests;

/// <summary>
/// A type-invalid model is bad input: <c>forge optimize</c> exits 2 before any pass with one line naming the file and
/// the node, and writes nothing; <c>forge inspect</c> exits 2 too (fuzz seed 7: a Cast to -1 and a Reshape shape rewired to a float ended in exit 3).
/// </summary>
public sealed class OptimizeTypeInvalidInputCommandTests
{
    [Theory]
    [InlineData("cast-to-undefined")]
    [InlineData("reshape-shape-float")]
    [InlineData("reshape-one-input")]
    public void A_type_invalid_export_exits_2_naming_the_node_and_writes_nothing(string mutation)
    {
        using var dir = Fixtures.Temp();
        var input = dir.File("model.onnx");
        string node;
        using (var model = OnnxReader.Load(Fixtures.Model("tiny_vae_decoder_opset12_fp32")))
        {
            var graph = model.Graph;
            var victim = graph.Nodes.First(n => n.Is(mutation == "cast-to-undefined" ? "Cast" : "Reshape"));
            node = victim.Name;
            switch (mutation)
            {
                case "cast-to-undefined":
                    victim.Attributes["to"] = Core.Ir.Attribute.Int("to", -1);
                    break;
                case "reshape-shape-float":
                    // a float value the file does not annotate (no value_info), as fuzz seed 7 case 1156 rewired it
                    victim.SetInput(1, graph.Nodes.TakeWhile(n => n != victim).First(n => n.Is("Conv")).Outputs[0]);
                    break;
                default:
                    // the Reshape keeps its shape input only, as fuzz seed 7 case 425 left it
                    var rebuilt = graph.Create("Reshape", [victim.Inputs[1]], anchor: victim, nameHint: "one_input");
                    victim.Outputs[0].ReplaceAllUsesWith(rebuilt.Outputs[0], graph);
                    graph.Remove(victim);
                    rebuilt.Name = node;
                    break;
            }

            OnnxWriter.Save(model, input);
        }

        var result = ForgeCli.Run("optimize", input, "-o", dir.File("out.onnx"));
        var inspected = ForgeCli.Run("inspect", input);

        Assert.True(result.ExitCode == 2, result.Stderr);
        Assert.Contains(input, result.Stderr, StringComparison.Ordinal);
        Assert.Contains($"'{node}'", result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("out.onnx")));

        // inspect refuses what optimize refuses (the "a Cast to an undefined type passes inspect")
        Assert.True(inspected.ExitCode == 2, inspected.Stderr);
        Assert.Contains($"'{node}'", inspected.Stderr, StringComparison.Ordinal);
    }
}
