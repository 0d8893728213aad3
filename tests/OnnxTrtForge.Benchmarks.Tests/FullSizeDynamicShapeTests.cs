using System.Buffers.Binary;
using System.IO.Compression;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Testing;
using Xunit.Abstractions;

namespace OnnxTrtForge.Benchmarks.Tests;

/// <summary>
/// The real full-size SD v1.4 UNet exports of tools/full, dynamic (batch, height, width, sequence) and
/// static, optimized without their weights: node counting needs the graph only. Each weights file is a
/// sparse file of the named size: a tensor whose statistics say it is one value throughout (the norms'
/// ones and zeros, which simplifications may remove) is written with it, every other tensor starts with
/// its own value (so no two are equal, as with the real weights); about 100 KB reach the disk.
/// </summary>
public sealed class FullSizeDynamicShapeTests(ITestOutputHelper log)
{
    private static string Full(string name) => Path.Combine(Fixtures.RepoRoot, "tools", "full", name);

    /// <summary>Copies a tools/full file into <paramref name="folder"/>, unpacking it when only its .gz is tracked.</summary>
    private static string Unpacked(string name, string folder)
    {
        var copy = Path.Combine(folder, name);
        if (File.Exists(Full(name)))
        {
            File.Copy(Full(name), copy);
            return copy;
        }

        using var packed = new GZipStream(File.OpenRead(Full(name + ".gz")), CompressionMode.Decompress);
        using var output = File.Create(copy);
        packed.CopyTo(output);
        return copy;
    }

    /// <summary>Copies the graph (sd14_*.onnx) into <paramref name="folder"/> beside sparse placeholder weights; returns the copy's path.</summary>
    private static string WithPlaceholderWeights(string name, string folder)
    {
        var copy = Unpacked(name, folder);
        var stats = WeightStatsFile.Load(Unpacked(Path.ChangeExtension(name, ".stats.json"), folder)).Tensors;
        var refs = ExternalDataIndex.Read(copy);
        foreach (var file in refs.GroupBy(r => r.Location))
        {
            using var stream = new FileStream(Path.Combine(folder, file.Key), FileMode.CreateNew, FileAccess.Write);
            stream.SetLength(file.Max(r => r.Offset + r.Length));
            var index = 0;
            foreach (var r in file)
            {
                var size = r.Type.ElementSize();
                var uniform = stats[r.Name] is { } s && s.Min == s.Max;
                var value = uniform ? stats[r.Name].Min : ++index / 1024.0;
                var bytes = new byte[uniform ? r.Length : size];
                for (var at = 0; at + size <= bytes.Length; at += size)
                {
                    switch (r.Type)
                    {
                        case DataType.Float16:
                            BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(at), (Half)value);
                            break;
                        case DataType.Float:
                            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(at), (float)value);
                            break;
                        default:
                            throw new NotSupportedException($"{r.Name}: {r.Type}");
                    }
                }

                stream.Position = r.Offset;
                stream.Write(bytes);
            }
        }

        return copy;
    }

    private static (Model Model, OptimizeReport Report) Optimize(string name, TempDir temp)
    {
        var model = OnnxReader.Load(WithPlaceholderWeights(name, temp.Path));
        return (model, Optimizer.Optimize(model));
    }

    [Fact]
    public void Full_size_dynamic_unet_optimizes_to_the_static_op_census_plus_only_shape_reads_of_dims_that_vary()
    {
        using var staticTemp = Fixtures.Temp();
        using var dynamicTemp = Fixtures.Temp();
        var (staticModel, staticReport) = Optimize("sd14_unet_fp16_aten.onnx", staticTemp);
        var (model, report) = Optimize("sd14_unet_dyn_fp16_aten.onnx", dynamicTemp);
        using (staticModel)
        using (model)
        {
            log.WriteLine($"static {staticReport.Before.Nodes} → {staticReport.After.Nodes}, dynamic {report.Before.Nodes} → {report.After.Nodes} nodes");
            log.WriteLine(string.Join("; ", report.Passes.Where(p => p.Pass == "fold-symbolic-shapes").SelectMany(p => p.Notes).Distinct()));

            // every op but the run-time shape reads is the static model's, one for one
            static IEnumerable<KeyValuePair<string, int>> Compute(OptimizeReport r) =>
                r.After.OpCensus.Where(p => p.Key is not ("Shape" or "Gather")).OrderBy(p => p.Key, StringComparer.Ordinal);
            Assert.Equal(Compute(staticReport), Compute(report));
            Assert.Equal(0, staticReport.After.OpCensus.GetValueOrDefault("Shape"));

            // each Shape is the shape argument of a Reshape or Expand that no constant can say, directly or through one Gather
            var shapes = model.Graph.Nodes.Where(n => n.Is("Shape")).ToList();
            Assert.NotEmpty(shapes);
            foreach (var shape in shapes)
            {
                var readers = shape.Outputs[0].Uses.SelectMany(u => u.Node.Is("Gather") && u.Index == 0 ? u.Node.Outputs[0].Uses : [u]).ToList();
                Assert.NotEmpty(readers);
                foreach (var use in readers)
                {
                    Assert.True(use.Node.OpType is "Reshape" or "Expand" && use.Index == 1, use.Node.ToString());
                    var input = GraphDims(use.Node.Input(0)!);
                    var output = GraphDims(use.Node.Outputs[0]);
                    // dims that vary and are no copy of the input's at the same place: a constant target has one -1 for one of them
                    var varying = output.Where((d, i) => !d.IsConstant && (use.Node.OpType == "Expand" || i >= input.Length || input[i] != d)).Count();
                    Assert.True(use.Node.OpType == "Expand" ? varying >= 1 : varying >= 2, $"{use.Node}: {string.Join(",", output.Select(d => d.Text))} from {string.Join(",", input.Select(d => d.Text))}");
                }
            }

            Assert.All(model.Graph.Nodes.Where(n => n.Is("Gather")), g => Assert.True(g.Input(0)?.Producer?.Is("Shape"), g.ToString()));

            // the signature keeps every dynamic dim and its name
            Assert.Equal(["float16[batch,4,height,width]", "float16[1]", "float16[batch,sequence,768]"], model.Graph.Inputs.Select(v => v.Type!.ToString()));
            Assert.Equal("float16[batch,4,height,width]", model.Graph.Outputs[0].Type!.ToString());
            Assert.All(report.Passes, p => Assert.Equal(0, p.Counters.GetValueOrDefault("unproven")));
        }
    }

    private static DimExpr[] GraphDims(Value value) =>
        value.Type?.Shape?.Select(d => d.AsExpr() ?? throw new Xunit.Sdk.XunitException($"'{value.Name}' has an unknown dim")).ToArray()
        ?? throw new Xunit.Sdk.XunitException($"'{value.Name}' has no shape");
}
