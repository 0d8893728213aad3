using Google.Protobuf;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Core.Serialization.Proto;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.Core.Tests.Serialization;

public sealed class BadInputTests
{
    private static ForgeInputException LoadFails(string path)
    {
        var e = Assert.Throws<ForgeInputException>(() => OnnxReader.Load(path).Dispose());
        Assert.Contains(Path.GetFileName(path), e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    private static ModelProto Tiny(Action<GraphProto>? edit = null)
    {
        var graph = new GraphProto { Name = "g" };
        graph.Input.Add(new ValueInfoProto { Name = "x", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1 } } });
        graph.Node.Add(new NodeProto { OpType = "Add", Name = "add", Input = { "x", "w" }, Output = { "y" } });
        graph.Output.Add(new ValueInfoProto { Name = "y" });
        graph.Initializer.Add(new TensorProto { Name = "w", DataType = 1, Dims = { 2 }, RawData = ByteString.CopyFrom(new byte[8]) });
        edit?.Invoke(graph);
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return model;
    }

    private static string Write(TempDir dir, ModelProto model, string name = "model.onnx")
    {
        var path = dir.File(name);
        File.WriteAllBytes(path, model.ToByteArray());
        return path;
    }

    private static void External(GraphProto g, string location, long offset = 0, long length = 8)
    {
        var w = g.Initializer[0];
        w.ClearRawData();
        w.DataLocation = TensorProto.Types.DataLocation.External;
        w.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        w.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        w.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
    }

    [Fact]
    public void A_well_formed_tiny_model_loads()
    {
        using var dir = Fixtures.Temp();
        using var model = OnnxReader.Load(Write(dir, Tiny()));
        Assert.Single(model.Graph.Nodes);
    }

    [Fact]
    public void Truncated_file_names_the_byte_offset()
    {
        using var dir = Fixtures.Temp();
        var bytes = File.ReadAllBytes(Fixtures.Model("tiny_vae_decoder_opset12_fp32"));
        var path = dir.File("truncated.onnx");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        Assert.Contains("corrupt ONNX protobuf", LoadFails(path).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Random_bytes_are_rejected()
    {
        using var dir = Fixtures.Temp();
        var bytes = new byte[4096];
        new Random(7).NextBytes(bytes);
        var path = dir.File("random.onnx");
        File.WriteAllBytes(path, bytes);
        LoadFails(path);
    }

    [Fact]
    public void Wrong_wire_type_for_the_graph_is_rejected()
    {
        using var dir = Fixtures.Temp();
        var path = dir.File("wire.onnx");
        File.WriteAllBytes(path, [0x08, 0x08, 0x38, 0x05]); // ir_version=8, then field 7 (graph) as a varint
        LoadFails(path);
    }

    [Fact]
    public void Absolute_external_location_is_rejected()
    {
        using var dir = Fixtures.Temp();
        File.WriteAllBytes(dir.File("w.bin"), new byte[8]);
        var e = LoadFails(Write(dir, Tiny(g => External(g, dir.File("w.bin")))));
        Assert.Contains("absolute", e.Message, StringComparison.Ordinal);
        Assert.Contains("initializer 'w'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void External_location_escaping_the_model_folder_is_rejected()
    {
        using var dir = Fixtures.Temp();
        Directory.CreateDirectory(dir.File("models"));
        File.WriteAllBytes(dir.File("w.bin"), new byte[8]);
        var e = LoadFails(Write(dir, Tiny(g => External(g, "../w.bin")), Path.Combine("models", "model.onnx")));
        Assert.Contains("escapes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void External_range_past_the_end_of_the_file_is_rejected()
    {
        using var dir = Fixtures.Temp();
        File.WriteAllBytes(dir.File("w.bin"), new byte[8]);
        var e = LoadFails(Write(dir, Tiny(g => External(g, "w.bin", offset: 4, length: 8))));
        Assert.Contains("past the end", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_external_file_is_rejected()
    {
        using var dir = Fixtures.Temp();
        var e = LoadFails(Write(dir, Tiny(g => External(g, "absent.bin"))));
        Assert.Contains("not found", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cycle_names_a_node_on_it()
    {
        using var dir = Fixtures.Temp();
        var e = LoadFails(Write(dir, Tiny(g =>
        {
            g.Node[0].Input[0] = "z";
            g.Node.Add(new NodeProto { OpType = "Relu", Name = "relu", Input = { "y" }, Output = { "z" } });
        })));
        Assert.Contains("cycle", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_input_nobody_defines_is_named()
    {
        using var dir = Fixtures.Temp();
        var e = LoadFails(Write(dir, Tiny(g => g.Node[0].Input[1] = "ghost")));
        Assert.Contains("'ghost'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'add'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Declared_size_disagreeing_with_the_bytes_is_rejected()
    {
        using var dir = Fixtures.Temp();
        var e = LoadFails(Write(dir, Tiny(g => g.Initializer[0].Dims[0] = 3)));
        Assert.Contains("12 bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unsorted_nodes_are_accepted_and_sorted()
    {
        using var dir = Fixtures.Temp();
        using var model = OnnxReader.Load(Write(dir, Tiny(g =>
        {
            g.Output[0].Name = "z";
            g.Node.Insert(0, new NodeProto { OpType = "Relu", Name = "relu", Input = { "y" }, Output = { "z" } });
        })));
        Assert.Equal(["Add", "Relu"], model.Graph.Nodes.Select(n => n.OpType));
    }

    /// <summary>
    /// 1,000 seeded mutations of a real export (byte flips, truncations, insertions, varint damage): every
    /// one either loads (and then saves) or fails with a ForgeInputException; nothing else escapes.
    /// </summary>
    [Fact]
    public void Random_mutations_never_escape_as_unhandled_exceptions()
    {
        using var dir = Fixtures.Temp();
        var original = File.ReadAllBytes(Fixtures.Model("tiny_vae_decoder_opset12_fp32"));
        var random = new Random(20261126);
        var path = dir.File("mutant.onnx");
        var rejected = 0;
        for (var i = 0; i < 1000; i++)
        {
            var bytes = Mutate(original, random);
            File.WriteAllBytes(path, bytes);
            try
            {
                using var model = OnnxReader.Load(path);
                OnnxWriter.Save(model, dir.File("resaved.onnx"));
            }
            catch (ForgeInputException e)
            {
                Assert.DoesNotContain('\n', e.Message);
                rejected++;
            }
            catch (Exception e)
            {
                Assert.Fail($"mutation {i} escaped as {e.GetType().Name}: {e.Message}");
            }
        }

        Assert.InRange(rejected, 100, 1000);
    }

    private static byte[] Mutate(byte[] original, Random random)
    {
        // Structure (nodes, names, attributes) sits in the first part of the file; weights after.
        var focus = random.Next(2) == 0 ? original.Length : Math.Min(original.Length, 150_000);
        var bytes = (byte[])original.Clone();
        switch (random.Next(5))
        {
            case 0:
                for (var k = random.Next(1, 8); k > 0; k--)
                {
                    bytes[random.Next(focus)] ^= (byte)(1 << random.Next(8));
                }

                return bytes;
            case 1:
                return bytes[..random.Next(focus)];
            case 2:
                var at = random.Next(focus);
                var junk = new byte[random.Next(1, 16)];
                random.NextBytes(junk);
                return [.. bytes[..at], .. junk, .. bytes[at..]];
            case 3:
                var pos = random.Next(focus - 8);
                for (var k = 0; k < 5; k++)
                {
                    bytes[pos + k] = 0xFF;
                }

                return bytes;
            default:
                bytes[random.Next(focus)] = (byte)random.Next(256);
                return bytes;
        }
    }
}
