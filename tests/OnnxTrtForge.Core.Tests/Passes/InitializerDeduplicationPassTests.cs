using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.Core.Tests.Passes;

public sealed class InitializerDeduplicationPassTests
{
    [Fact]
    public void Merges_byte_equal_initializers_of_the_same_type_and_shape_only()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 2, 2);
        var a = m.Floats("a", [2, 2], 1, 2, 3, 4);
        var b = m.Floats("b", [2, 2], 1, 2, 3, 4);
        var c = m.Floats("c", [4], 1, 2, 3, 4);
        var d = m.Floats("d", [2, 2], 1, 2, 3, 5);
        var n1 = m.Op("Add", [x, a]);
        var n2 = m.Op("Mul", [n1.Outputs[0], b]);
        var n3 = m.Op("Sub", [n2.Outputs[0], d]);
        var flat = m.Op("Reshape", [n3.Outputs[0], m.Int64s("shape", 4)]);
        var n4 = m.Op("Add", [flat.Outputs[0], c]);
        m.Output(n4.Outputs[0], DataType.Float, 4);

        var (result, before, after) = m.RunPass(new InitializerDeduplicationPass());

        Assert.Equal(1, result.Counters["merged"]);
        Assert.Equal(16, result.Counters["bytes-saved"]);
        Assert.Same(a, n2.Input(1));
        Assert.Null(m.Graph.FindInitializer("b"));
        Assert.Same(c, n4.Input(1));
        Assert.Same(d, n3.Input(1));
        TinyModel.AssertSame(before, after);
    }

    [Fact]
    public void Merges_large_payloads_only_when_every_byte_is_equal()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 100_000);
        var values = Enumerable.Range(0, 100_000).Select(i => (float)Math.Sin(i)).ToArray();
        var tweaked = (float[])values.Clone();
        tweaked[50_001] += 1;
        var p = m.Floats("p", [100_000], values);
        var q = m.Floats("q", [100_000], (float[])values.Clone());
        var r = m.Floats("r", [100_000], tweaked);
        var n1 = m.Op("Add", [x, p]);
        var n2 = m.Op("Add", [n1.Outputs[0], q]);
        var n3 = m.Op("Add", [n2.Outputs[0], r]);
        m.Output(n3.Outputs[0], DataType.Float, 100_000);

        var result = new InitializerDeduplicationPass().Run(m.Model);

        Assert.Equal(1, result.Counters["merged"]);
        Assert.Same(p, n2.Input(1));
        Assert.Same(r, n3.Input(1));
    }

    [Theory]
    [InlineData(ExternalDataMode.Never)]
    [InlineData(ExternalDataMode.Always)]
    public void Compares_file_backed_weights_byte_for_byte_whether_embedded_or_external(ExternalDataMode mode)
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 270_000);
        var values = Enumerable.Range(0, 270_000).Select(i => (float)Math.Cos(i)).ToArray();
        var tweaked = (float[])values.Clone();
        tweaked[^3] = 7;
        var n1 = m.Op("Add", [x, m.Floats("p", [270_000], values)]);
        var n2 = m.Op("Mul", [n1.Outputs[0], m.Floats("q", [270_000], (float[])values.Clone())]);
        var n3 = m.Op("Sub", [n2.Outputs[0], m.Floats("r", [270_000], tweaked)]);
        m.Output(n3.Outputs[0], DataType.Float, 270_000);
        using var temp = Fixtures.Temp();
        OnnxWriter.Save(m.Model, temp.File("m.onnx"), new SaveOptions { ExternalData = mode });
        using var loaded = OnnxReader.Load(temp.File("m.onnx"));
        Assert.All(loaded.Graph.Initializers, v => Assert.IsType<MappedTensorData>(v.Initializer!.Data));

        var result = new InitializerDeduplicationPass().Run(loaded);

        Assert.Equal(1, result.Counters["merged"]);
        Assert.Equal(["p", "r"], loaded.Graph.Initializers.Select(v => v.Name));
        Assert.Contains(result.Notes, n => n.Contains("'q'", StringComparison.Ordinal) && n.Contains("'p'", StringComparison.Ordinal));
        var mul = loaded.Graph.Nodes.Single(n => n.OpType == "Mul");
        Assert.Equal("p", mul.Input(1)!.Name);
    }
}
