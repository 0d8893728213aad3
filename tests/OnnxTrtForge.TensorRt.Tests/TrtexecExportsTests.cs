using System.Globalization;
using System.Text;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.TensorRt.Tests;

public sealed class TrtexecExportsTests
{
    [Fact]
    public void Recomputes_latency_figures_from_exported_times()
    {
        using var dir = Fixtures.Temp();
        // 20 queries with compute times 1..20 ms (shuffled), 0.1 ms transfers, back to back.
        var compute = new[] { 7, 3, 19, 1, 12, 5, 20, 9, 14, 2, 16, 11, 4, 18, 6, 13, 8, 17, 10, 15 };
        var json = new StringBuilder("[");
        double t = 0;
        for (var i = 0; i < compute.Length; i++)
        {
            var c = compute[i];
            json.Append(CultureInfo.InvariantCulture, $"{(i > 0 ? "," : "")}{{\"startEnqMs\":{t},\"endEnqMs\":{t + 0.5},\"startH2dMs\":{t},\"endH2dMs\":{t + 0.1},\"startComputeMs\":{t + 0.1},\"endComputeMs\":{t + 0.1 + c},\"startD2hMs\":{t + 0.1 + c},\"endD2hMs\":{t + 0.2 + c},\"h2dMs\":0.1,\"computeMs\":{c},\"d2hMs\":0.1,\"latencyMs\":{c + 0.2}}}");
            t += 0.2 + c;
        }

        File.WriteAllText(dir.File("times.json"), json.Append(']').ToString());
        var s = TrtexecExports.ReadTimes(dir.File("times.json"));
        Assert.Equal(20, s.Queries);
        var g = s.GpuCompute!;
        Assert.Equal((1.0, 20.0, 10.5, 10.5), (g.Min, g.Max, g.Mean, g.Median));
        // trtexec's percentile: the sorted sample at floor(n*p/100): 90% -> index 18 (19 ms), 95% -> 19 (20 ms), 99% -> 19.
        Assert.Equal((19.0, 20.0, 20.0), (g.P90!.Value, g.P95!.Value, g.P99!.Value));
        Assert.Equal(10.7, s.Latency!.Mean, 9);
        Assert.Equal(0.5, s.Enqueue!.Median, 9);
        Assert.Equal(t / 1000, s.TotalHostWalltimeSeconds!.Value, 9);
        Assert.Equal(20 / (t / 1000), s.ThroughputQps!.Value, 6);
    }

    [Fact]
    public void Derives_durations_from_start_and_end_fields_when_a_writer_leaves_them_out()
    {
        using var dir = Fixtures.Temp();
        File.WriteAllText(dir.File("t.json"), """
            [{"startEnqMs":0,"endEnqMs":0.5,"startH2dMs":0,"endH2dMs":1,"startComputeMs":1,"endComputeMs":5,"startD2hMs":5,"endD2hMs":6},
             {"startEnqMs":6,"endEnqMs":6.5,"startH2dMs":6,"endH2dMs":7,"startComputeMs":7,"endComputeMs":13,"startD2hMs":13,"endD2hMs":14}]
            """);
        var s = TrtexecExports.ReadTimes(dir.File("t.json"));
        Assert.Equal((4.0, 6.0, 5.0), (s.GpuCompute!.Min, s.GpuCompute.Max, s.GpuCompute.Median));
        Assert.Equal((6.0, 8.0), (s.Latency!.Min, s.Latency.Max));
        Assert.Equal(1.0, s.H2D!.Mean);
        Assert.Equal(2 / 0.014, s.ThroughputQps!.Value, 6);
    }

    [Fact]
    public void Reads_an_exported_profile()
    {
        using var dir = Fixtures.Temp();
        File.WriteAllText(dir.File("p.json"), """
            [
              { "count" : 100 }
            , { "name" : "/conv_in/Conv", "timeMs" : 120.5, "averageMs" : 1.205, "medianMs" : 1.2, "percentage" : 60.25 }
            , { "name" : "/mid_block/attn/MatMul", "timeMs" : 79.5, "averageMs" : 0.795, "medianMs" : 0.79, "percentage" : 39.75 }
            ]
            """);
        var p = TrtexecExports.ReadProfile(dir.File("p.json"));
        Assert.Equal(100, p.Count);
        Assert.Equal(["/conv_in/Conv", "/mid_block/attn/MatMul"], p.Layers.Select(l => l.Name));
        Assert.Equal(0.795, p.Layers[1].AverageMs);
        Assert.Equal(60.25, p.Layers[0].Percentage);
    }

    [Fact]
    public void Reads_layer_info_in_detailed_and_names_only_forms()
    {
        using var dir = Fixtures.Temp();
        File.WriteAllText(dir.File("detailed.json"), """{"Layers":[{"Name":"conv1","LayerType":"CaskConvolution"},{"Name":"conv2","LayerType":"CaskConvolution"},{"Name":"sm","LayerType":"Softmax"}],"Bindings":["sample","out"]}""");
        File.WriteAllText(dir.File("names.json"), """{"Layers":["conv1","conv2"],"Bindings":["sample","out"]}""");
        var detailed = TrtexecExports.ReadLayerInfo(dir.File("detailed.json"));
        Assert.Equal(3, detailed.LayerCount);
        Assert.Equal(2, detailed.LayerTypes["CaskConvolution"]);
        Assert.Equal(["sample", "out"], detailed.Bindings);
        var names = TrtexecExports.ReadLayerInfo(dir.File("names.json"));
        Assert.Equal(["conv1", "conv2"], names.Names);
        Assert.Empty(names.LayerTypes);
    }

    [Fact]
    public void Reads_exported_outputs_including_bare_non_finite_values()
    {
        using var dir = Fixtures.Temp();
        File.WriteAllText(dir.File("o.json"), """
            [
              { "name" : "out_sample"
              , "dimensions" : "1x2x2"
              , "values" : [ 0.5, -1.25, nan, inf ]
              },
              { "name" : "scalar", "dimensions" : "1", "values" : [ -inf ] }
            ]
            """);
        var outputs = TrtexecExports.ReadOutputs(dir.File("o.json"));
        Assert.Equal([1L, 2, 2], outputs[0].Dims);
        Assert.Equal(0.5f, outputs[0].Values[0]);
        Assert.Equal(-1.25f, outputs[0].Values[1]);
        Assert.True(float.IsNaN(outputs[0].Values[2]));
        Assert.True(float.IsPositiveInfinity(outputs[0].Values[3]));
        Assert.True(float.IsNegativeInfinity(outputs[1].Values[0]));
        var tensor = outputs[0].ToTensor();
        Assert.Equal("out_sample", tensor.Name);
        Assert.Equal(OnnxTrtForge.Core.Ir.DataType.Float, tensor.Type);
    }

    [Fact]
    public void Rejects_outputs_whose_values_do_not_fill_their_dimensions()
    {
        using var dir = Fixtures.Temp();
        File.WriteAllText(dir.File("o.json"), """[{"name":"x","dimensions":"2x3","values":[1,2,3]}]""");
        Assert.Throws<FormatException>(() => TrtexecExports.ReadOutputs(dir.File("o.json")));
    }
}
