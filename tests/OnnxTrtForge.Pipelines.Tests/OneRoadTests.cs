using OnnxTrtForge.Core;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.Pipelines.Tests;

/// <summary>The optimize stage of a pipeline and <c>forge optimize</c> are one road: the same service, the same passes.</summary>
public sealed class OneRoadTests
{
    [Fact]
    public void A_pipelines_fp16_model_is_the_model_forge_optimize_fp16_writes()
    {
        using var dir = Fixtures.Temp();
        var model = Fixtures.Model("tiny_vae_decoder_opset12_fp32");
        var pipeline = dir.File("p.yaml");
        File.WriteAllText(pipeline, $"""
            name: one-road
            model: {model}
            optimize:
              check: false
              fp16: true
            """);

        var yaml = Tools.RunForge(["run", pipeline, "--out", dir.File("out")]);
        var cli = Tools.RunForge(["optimize", model, "-o", dir.File("cli.onnx"), "--fp16"]);

        Assert.True(yaml.ExitCode == ExitCode.Ok, yaml.Stdout + yaml.Stderr);
        Assert.True(cli.ExitCode == ExitCode.Ok, cli.Stdout + cli.Stderr);
        using var fromYaml = OnnxReader.Load(dir.File("out/model.fp16.onnx"));
        using var fromCli = OnnxReader.Load(dir.File("cli.onnx"));
        Assert.Contains("Cast", fromCli.Graph.OpCensus().Keys);
        Assert.Equal(fromCli.Graph.OpCensus().OrderBy(kv => kv.Key), fromYaml.Graph.OpCensus().OrderBy(kv => kv.Key));
        Assert.Equal(
            fromCli.Graph.Initializers.Select(v => (v.Name, v.Initializer!.Type)).Order(),
            fromYaml.Graph.Initializers.Select(v => (v.Name, v.Initializer!.Type)).Order());
    }
}
