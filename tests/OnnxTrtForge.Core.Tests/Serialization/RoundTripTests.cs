using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Reports;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.Core.Tests.Serialization;

public sealed class RoundTripTests
{
    // Node counts and op censuses as PEERS.md lists them for the exported fixtures.
    [Theory]
    [InlineData("tiny_unet_opset12_fp16_aten", 5946, 470, "ATen", 1)]
    [InlineData("tiny_unet_opset12_fp16", 3520, 470, "Cast", 287)]
    [InlineData("tiny_unet_opset12_fp32", 3324, 470, "Identity", 212)]
    [InlineData("tiny_unet_dynamo18_fp32", 1633, 512, "LayerNormalization", 48)]
    [InlineData("tiny_vae_decoder_opset12_fp32", 425, 62, "Constant", 91)]
    public void Inspect_reports_the_exported_node_count_and_census(string fixture, int nodes, int initializers, string op, int opCount)
    {
        using var model = OnnxReader.Load(Fixtures.Model(fixture));
        var summary = ModelSummary.Of(model, fixture);
        Assert.Equal(nodes, summary.Nodes);
        Assert.Equal(initializers, summary.Initializers);
        var key = op == "ATen" ? "org.pytorch.aten::ATen" : op;
        Assert.Equal(opCount, summary.OpCensus[key]);
        Assert.Equal(nodes, summary.OpCensus.Values.Sum());
    }

    [Fact]
    public void Embedded_initializers_are_slices_of_the_mapped_file_not_copies()
    {
        using var model = OnnxReader.Load(Fixtures.Model("tiny_unet_opset12_fp32"));
        Assert.All(model.Graph.Initializers, v => Assert.IsType<MappedTensorData>(v.Initializer!.Data));
    }

    public static TheoryData<string, ExternalDataMode> Conversions()
    {
        var data = new TheoryData<string, ExternalDataMode>();
        foreach (var fixture in Fixtures.Models.Where(m => !m.EndsWith("_aten", StringComparison.Ordinal)))
        {
            data.Add(fixture, ExternalDataMode.Never);
            data.Add(fixture, ExternalDataMode.Always);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Conversions))]
    public void Converted_model_gives_bit_identical_outputs(string fixture, ExternalDataMode mode)
    {
        using var dir = Fixtures.Temp();
        var output = dir.File("model.onnx");
        using (var model = OnnxReader.Load(Fixtures.Model(fixture)))
        {
            var result = OnnxWriter.Save(model, output, new SaveOptions { ExternalData = mode });
            Assert.Equal(mode == ExternalDataMode.Always, result.DataPath is not null);
        }

        var inputs = OrtRunner.TestInputs(Fixtures.Dir(fixture));
        var expected = OrtRunner.Run(Fixtures.Model(fixture), inputs);
        var actual = OrtRunner.Run(output, inputs);
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Dims, actual[i].Dims);
            Assert.True(expected[i].Data.Span.SequenceEqual(actual[i].Data.Span), $"output {i} differs");
        }
    }

    [Fact]
    public void External_data_is_aligned_and_reloads_to_the_same_census()
    {
        using var dir = Fixtures.Temp();
        var output = dir.File("unet.onnx");
        using (var model = OnnxReader.Load(Fixtures.Model("tiny_unet_dynamo18_fp32")))
        {
            OnnxWriter.Save(model, output, new SaveOptions { ExternalData = ExternalDataMode.Always });
        }

        using var reloaded = OnnxReader.Load(output);
        var external = reloaded.Graph.Initializers.Select(v => v.Initializer!.Data).OfType<MappedTensorData>().Where(d => d.IsExternal).ToList();
        Assert.NotEmpty(external);
        Assert.All(external, d => Assert.Equal(0, d.FileOffset % 4096));
        Assert.All(external, d => Assert.Equal("unet.onnx.data", Path.GetFileName(d.FilePath)));
        Assert.Equal(1633, reloaded.Graph.OpCensus().Values.Sum());

        // And back to embedded from external storage.
        var embedded = dir.File("embedded.onnx");
        OnnxWriter.Save(reloaded, embedded, new SaveOptions { ExternalData = ExternalDataMode.Never });
        using var again = OnnxReader.Load(embedded);
        Assert.All(again.Graph.Initializers, v => Assert.False(v.Initializer!.Data is MappedTensorData { IsExternal: true }));
    }

    [Fact]
    public void Saving_twice_gives_the_same_bytes()
    {
        using var dir = Fixtures.Temp();
        using var model = OnnxReader.Load(Fixtures.Model("tiny_vae_decoder_opset12_fp32"));
        OnnxWriter.Save(model, dir.File("a.onnx"));
        OnnxWriter.Save(model, dir.File("b.onnx"));
        Assert.Equal(File.ReadAllBytes(dir.File("a.onnx")), File.ReadAllBytes(dir.File("b.onnx")));
    }

    [Fact]
    public void Subgraphs_functions_metadata_value_info_and_unknown_domains_survive_a_round_trip()
    {
        using var dir = Fixtures.Temp();
        var path = dir.File("rich.onnx");
        using (var built = SampleModels.WithSubgraphAndFunction())
        {
            OnnxWriter.Save(built, path);
        }

        using var model = OnnxReader.Load(path);
        Assert.Equal("forge-test", model.ProducerName);
        Assert.Equal("a model doc", model.DocString);
        Assert.Equal("v", model.MetadataProps["k"]);
        Assert.Equal(3, model.OpsetImports["com.example.unknown"]);
        var ifNode = Assert.Single(model.Graph.Nodes, n => n.OpType == "If");
        var thenBranch = ifNode.Attributes["then_branch"].G!;
        var elseBranch = ifNode.Attributes["else_branch"].G!;
        Assert.Same(model.Graph.Nodes.Single(n => n.OpType == "Double").Outputs[0], thenBranch.Nodes.Single().Inputs[0]);
        Assert.Same(model.Graph.Inputs[0], elseBranch.Nodes.Single().Inputs[0]);
        Assert.Contains(model.Graph.Inputs[0].Uses, u => ReferenceEquals(u.Node.Graph, elseBranch));
        Assert.Same(model.Graph, thenBranch.Parent);
        var function = Assert.Single(model.Functions);
        Assert.Equal("com.example.unknown", function.Domain);
        Assert.Equal("Double", function.Name);
        Assert.Equal(2, function.Body.Nodes.Count);
        var custom = Assert.Single(model.Graph.Nodes, n => n.OpType == "Double");
        Assert.Equal("custom doc", custom.DocString);
        var mid = custom.Outputs[0];
        Assert.Equal(TypeInfo.OfTensor(DataType.Float, [Dim.Symbol("N"), Dim.Of(4)]), mid.Type);
        Assert.Equal("node-meta", custom.MetadataProps["m"]);

        // The runtime agrees it is a valid model: x=[1..4] → cond true → (2x)+1.
        var x = Tensor.FromFloats([1, 4], [1, 2, 3, 4]);
        var outputs = OrtRunner.Run(path, [x, Tensor.FromArray(DataType.Bool, [], new[] { true })]);
        Assert.Equal([3.0, 5, 7, 9], outputs[0].ToDoubleArray());
    }
}
