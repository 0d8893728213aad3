using System.Diagnostics;
using Google.Protobuf;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Core.Serialization.Proto;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.Core.Tests.Serialization;

public sealed class OutputPlanTests
{
    /// <summary>A one-Add model whose 8-byte weight lives in <paramref name="dataName"/> (external) or inline.</summary>
    private static string WriteModel(string path, string? dataName = null, string? dataFolder = null)
    {
        var graph = new GraphProto { Name = "g" };
        graph.Input.Add(new ValueInfoProto { Name = "x", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dimension { DimValue = 2 } } } } } });
        graph.Node.Add(new NodeProto { OpType = "Add", Name = "add", Input = { "x", "w" }, Output = { "y" } });
        graph.Output.Add(new ValueInfoProto { Name = "y", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1 } } });
        var w = new TensorProto { Name = "w", DataType = 1, Dims = { 2 } };
        if (dataName is null)
        {
            w.RawData = ByteString.CopyFrom(new byte[8]);
        }
        else
        {
            File.WriteAllBytes(Path.Combine(dataFolder ?? Path.GetDirectoryName(path)!, Path.GetFileName(dataName)), new byte[8]);
            w.DataLocation = TensorProto.Types.DataLocation.External;
            w.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = dataName });
            w.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = "8" });
        }

        graph.Initializer.Add(w);
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        File.WriteAllBytes(path, model.ToByteArray());
        return path;
    }

    private static string Refused(Action act)
    {
        var e = Assert.Throws<ForgeInputException>(act);
        Assert.DoesNotContain('\n', e.Message);
        return e.Message;
    }

    [Fact]
    public void An_output_that_is_the_input_model_is_refused()
    {
        using var dir = Fixtures.Temp();
        using var model = OnnxReader.Load(WriteModel(dir.File("m.onnx")));

        Assert.Contains("would overwrite the input model", Refused(() => OutputPlan.Reading(model).Model(dir.File("m.onnx"))), StringComparison.Ordinal);
        Assert.Contains("would overwrite the input model", Refused(() => OutputPlan.Reading(model).Model(dir.File("sub/../m.onnx"))), StringComparison.Ordinal);
    }

    [Fact]
    public void An_output_whose_external_data_file_is_the_inputs_weights_file_is_refused()
    {
        using var dir = Fixtures.Temp();
        using var model = OnnxReader.Load(WriteModel(dir.File("in.onnx"), "out.onnx.data"));

        var message = Refused(() => OutputPlan.Reading(model).Model(dir.File("out.onnx")));

        Assert.Contains("out.onnx.data", message, StringComparison.Ordinal);
        Assert.Contains("the input's external data", message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_embedded_output_may_share_a_name_with_the_inputs_weights_file_only_when_data_is_never_external()
    {
        using var dir = Fixtures.Temp();
        using var model = OnnxReader.Load(WriteModel(dir.File("in.onnx"), "out.onnx.data"));

        Assert.Equal(dir.File("out.onnx"), OutputPlan.Reading(model).Model(dir.File("out.onnx"), ExternalDataMode.Never));
    }

    [Fact]
    public void An_output_reached_through_a_symbolic_link_to_the_input_or_its_folder_is_refused()
    {
        using var dir = Fixtures.Temp();
        Directory.CreateDirectory(dir.File("real"));
        using var model = OnnxReader.Load(WriteModel(dir.File("real/m.onnx")));
        File.CreateSymbolicLink(dir.File("link.onnx"), dir.File("real/m.onnx"));
        Directory.CreateSymbolicLink(dir.File("alias"), dir.File("real"));

        Refused(() => OutputPlan.Reading(model).Model(dir.File("link.onnx")));
        Refused(() => OutputPlan.Reading(model).Model(dir.File("alias/m.onnx")));
    }

    [Fact]
    public void A_folder_a_trailing_slash_and_a_path_under_a_regular_file_are_refused_naming_the_path()
    {
        using var dir = Fixtures.Temp();
        Directory.CreateDirectory(dir.File("folder"));
        File.WriteAllText(dir.File("file.txt"), "x");
        var plan = new OutputPlan();

        Assert.Contains("is a directory", Refused(() => plan.Model(dir.File("folder"))), StringComparison.Ordinal);
        Assert.Contains("names a folder", Refused(() => plan.Model(dir.File("new") + "/")), StringComparison.Ordinal);
        var under = Refused(() => plan.File(dir.File("file.txt/deeper/r.json"), "the report"));
        Assert.Contains("file.txt/deeper/r.json", under, StringComparison.Ordinal);
        Assert.Contains("is a file", under, StringComparison.Ordinal);
    }

    [Fact]
    public void A_folder_that_cannot_be_written_is_refused_before_any_work()
    {
        // /proc takes no new files, even for root (where permission bits would not stop the write)
        Assert.Contains("is not writable", Refused(() => new OutputPlan().Model("/proc/forge-out.onnx")), StringComparison.Ordinal);
    }

    [Fact]
    public void A_device_as_output_is_refused()
    {
        Assert.Contains("not a regular file", Refused(() => new OutputPlan().File("/dev/null", "the report")), StringComparison.Ordinal);
    }

    [Fact]
    public void Two_outputs_with_one_path_are_refused()
    {
        using var dir = Fixtures.Temp();
        var plan = new OutputPlan();
        plan.Model(dir.File("a.onnx"));

        Assert.Contains("is also the output model", Refused(() => plan.File(dir.File("a.onnx"), "the report")), StringComparison.Ordinal);
        Assert.Contains("is also the external data", Refused(() => plan.File(dir.File("a.onnx.data"), "the report")), StringComparison.Ordinal);
    }

    [Fact]
    public void A_new_folder_under_a_writable_one_is_accepted_and_not_created_by_the_plan()
    {
        using var dir = Fixtures.Temp();

        var full = new OutputPlan().Model(dir.File("new/deeper/m.onnx"));

        Assert.Equal(dir.File("new/deeper/m.onnx"), full);
        Assert.False(Directory.Exists(dir.File("new")));
    }

    [Fact]
    public void Saving_an_embedded_model_leaves_an_existing_data_file_of_that_name_alone()
    {
        using var dir = Fixtures.Temp();
        Directory.CreateDirectory(dir.File("other"));
        WriteModel(dir.File("other.onnx"), "out.onnx.data");
        var before = File.ReadAllBytes(dir.File("out.onnx.data"));
        using var model = OnnxReader.Load(WriteModel(dir.File("in.onnx")));

        OnnxWriter.Save(model, dir.File("out.onnx"), new SaveOptions { ExternalData = ExternalDataMode.Never });

        Assert.Equal(before, File.ReadAllBytes(dir.File("out.onnx.data")));
        using var other = OnnxReader.Load(dir.File("other.onnx"));
        Assert.Equal(8, other.Graph.Initializers.Single().Initializer!.ByteLength);
    }

    [Fact]
    public void External_data_reached_through_a_link_that_leaves_the_model_folder_is_refused()
    {
        using var dir = Fixtures.Temp();
        Directory.CreateDirectory(dir.File("model"));
        Directory.CreateDirectory(dir.File("outside"));
        WriteModel(dir.File("model/m.onnx"), "w.bin", dataFolder: dir.File("outside"));
        File.CreateSymbolicLink(dir.File("model/w.bin"), dir.File("outside/w.bin"));

        var e = Assert.Throws<ForgeInputException>(() => OnnxReader.Load(dir.File("model/m.onnx")).Dispose());

        Assert.Contains("outside the model's folder", e.Message, StringComparison.Ordinal);
        Assert.Contains("w.bin", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void External_data_reached_through_a_link_inside_the_model_folder_loads_and_is_listed_as_read()
    {
        using var dir = Fixtures.Temp();
        Directory.CreateDirectory(dir.File("model/weights"));
        WriteModel(dir.File("model/m.onnx"), "w.bin", dataFolder: dir.File("model/weights"));
        File.CreateSymbolicLink(dir.File("model/w.bin"), "weights/w.bin");

        using var model = OnnxReader.Load(dir.File("model/m.onnx"));
        var plan = OutputPlan.Reading(model);

        Assert.Contains(FilePaths.RealPath(dir.File("model/weights/w.bin")), plan.Reads);
        Refused(() => plan.File(dir.File("model/weights/w.bin"), "the report"));
    }

    [Fact]
    public void A_fifo_as_input_model_is_refused_without_blocking()
    {
        using var dir = Fixtures.Temp();
        var fifo = dir.File("pipe.onnx");
        using (var mkfifo = Process.Start("mkfifo", fifo))
        {
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        Assert.Equal(FileKind.Special, FilePaths.KindOf(fifo));
        Assert.Contains("not a regular file", Assert.Throws<ForgeInputException>(() => OnnxReader.Load(fifo)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Real_path_applies_dot_dot_after_a_link_to_the_links_target_as_the_kernel_does()
    {
        using var dir = Fixtures.Temp();
        Directory.CreateDirectory(dir.File("a/b"));
        Directory.CreateSymbolicLink(dir.File("l"), dir.File("a/b"));

        Assert.Equal(FilePaths.RealPath(dir.File("a")) + "/x", FilePaths.RealPath(dir.File("l/../x")));
        Assert.Equal(FileKind.Regular, FilePaths.KindOf(Fixtures.Model("tiny_vae_decoder_opset12_fp32")));
        Assert.Equal(FileKind.Directory, FilePaths.KindOf(dir.Path));
        Assert.Equal(FileKind.Missing, FilePaths.KindOf(dir.File("nothing")));
    }
}
