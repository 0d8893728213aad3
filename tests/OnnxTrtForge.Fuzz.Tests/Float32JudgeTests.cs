using System.Runtime.InteropServices;
using Google.Protobuf;
using OnnxTrtForge.Core.Serialization.Proto;
using OnnxTrtForge.Fuzz;

namespace OnnxTrtForge.Fuzz.Tests;

public sealed class Float32JudgeTests
{
    private const double Fp16Tolerance = 2e-3;

    [Fact]
    public void An_output_as_close_to_the_float32_evaluation_as_the_reference_is_cleared()
    {
        double[] exact = [1.0, 2.0, 3.0, 4.0];
        double[] reference = [1.002, 2.0, 3.0, 4.0];
        double[] output = [1.0, 2.0, 3.004, 4.0];

        var judged = Float32Judge.Compare("y", exact, reference, output, Fp16Tolerance);

        Assert.Null(judged.Mismatch);
        Assert.True(judged.OutputError > 0);
    }

    [Fact]
    public void An_output_further_from_the_float32_evaluation_than_the_reference_plus_the_tolerance_stays_wrong()
    {
        double[] exact = [1.0, 2.0, 3.0, 4.0];
        double[] reference = [1.0, 2.0, 3.0, 4.001];
        double[] output = [4.0, 3.0, 2.0, 1.0];

        var judged = Float32Judge.Compare("y", exact, reference, output, Fp16Tolerance);

        Assert.Contains("further from the float32 evaluation", judged.Mismatch);
    }

    [Fact]
    public void An_output_that_overflows_where_the_reference_stays_finite_stays_wrong()
    {
        double[] exact = [1.0, 2.0, 3.0];
        double[] reference = [1.0, 2.0, 3.0];
        double[] output = [1.0, double.PositiveInfinity, 3.0];

        var judged = Float32Judge.Compare("y", exact, reference, output, Fp16Tolerance);

        Assert.Contains("element 1", judged.Mismatch);
        Assert.Equal(1, judged.OutputOverflows);
    }

    [Fact]
    public void A_finite_output_where_the_fp16_reference_overflowed_but_the_float32_evaluation_is_finite_is_cleared()
    {
        double[] exact = [70000.0, 2.0];
        double[] reference = [double.PositiveInfinity, double.NaN];
        double[] output = [70000.0 * 1.0001, 2.0];

        var judged = Float32Judge.Compare("y", exact, reference, output, Fp16Tolerance);

        Assert.Null(judged.Mismatch);
        Assert.Equal(2, judged.ReferenceOverflows);
    }

    [Theory]
    [InlineData(1.005, true)]
    [InlineData(1.05, false)]
    public void Where_the_reference_overflowed_everywhere_the_output_is_held_to_the_fp16_conversion_tolerance(double scale, bool cleared)
    {
        double[] exact = [3.0, 4.0];
        double[] reference = [double.NaN, double.PositiveInfinity];
        double[] output = [3.0 * scale, 4.0 * scale];

        var judged = Float32Judge.Compare("y", exact, reference, output, Fp16Tolerance);

        Assert.Equal(cleared, judged.Mismatch is null);
        Assert.Equal(scale - 1, judged.RecoveredError, 1e-9);
    }

    [Fact]
    public void A_nan_of_the_float32_evaluation_itself_must_be_kept()
    {
        double[] exact = [double.NaN, 2.0];
        double[] reference = [double.NaN, 2.0];
        double[] output = [0.0, 2.0];

        var judged = Float32Judge.Compare("y", exact, reference, output, Fp16Tolerance);

        Assert.Contains("float32 evaluation is NaN", judged.Mismatch);
    }

    [Fact]
    public void Widening_turns_every_fp16_type_constant_and_cast_into_float32_with_the_same_values()
    {
        var folder = Directory.CreateTempSubdirectory("forge-fuzz-test-").FullName;
        try
        {
            var path = Path.Combine(folder, "model.onnx");
            File.WriteAllBytes(path, Fp16Model(k: 65504f, w: -0.5f).ToByteArray());
            var widenedPath = Path.Combine(folder, "widened.onnx");

            Assert.True(Float32Judge.Widen(path, widenedPath));

            var widened = ModelProto.Parser.ParseFrom(File.ReadAllBytes(widenedPath));
            Assert.All(widened.Graph.Initializer, t => Assert.Equal((int)TensorProto.Types.DataType.Float, t.DataType));
            Assert.Equal([-0.5f, -0.5f], MemoryMarshal.Cast<byte, float>(widened.Graph.Initializer.Single(t => t.Name == "w").RawData.Span).ToArray());
            Assert.Equal([65504f, 65504f], MemoryMarshal.Cast<byte, float>(widened.Graph.Initializer.Single(t => t.Name == "k").RawData.Span).ToArray());
            Assert.All(widened.Graph.Input.Concat(widened.Graph.Output), v => Assert.Equal((int)TensorProto.Types.DataType.Float, v.Type.TensorType.ElemType));
            var cast = Assert.Single(widened.Graph.Node, n => n.OpType == "Cast");
            Assert.Equal((long)TensorProto.Types.DataType.Float, cast.Attribute.Single(a => a.Name == "to").I);
            var constant = Assert.Single(widened.Graph.Node, n => n.OpType == "Constant").Attribute.Single().T;
            Assert.Equal((int)TensorProto.Types.DataType.Float, constant.DataType);
            Assert.Equal([-0.5f, -0.5f], MemoryMarshal.Cast<byte, float>(constant.RawData.Span).ToArray());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData(16376f, 1f, true)]
    [InlineData(16540f, 1f, false)]
    public void The_judge_widens_runs_and_compares_both_models_in_onnx_runtime(float k, float w, bool cleared)
    {
        // reference y = fp16(x * 65504) * 0.25; the output y = fp16(x * k) * w: equal in exact arithmetic for (16376, 1),
        // 1 % off for (16540, 1). (ONNX Runtime's CPU provider runs fp16 Mul through float32 casts and drops the
        // float32→fp16→float32 pairs, so an fp16 overflow between two ops cannot be staged here; Compare's tests cover it.)
        var folder = Directory.CreateTempSubdirectory("forge-fuzz-test-").FullName;
        try
        {
            var reference = Path.Combine(folder, "model.onnx");
            File.WriteAllBytes(reference, Fp16Model(k: 65504f, w: 0.25f).ToByteArray());
            var output = Path.Combine(folder, "out.onnx");
            File.WriteAllBytes(output, Fp16Model(k, w).ToByteArray());
            var data = Directory.CreateDirectory(Path.Combine(folder, "test_data_set_0")).FullName;
            var x = new TensorProto { Name = "x", DataType = (int)TensorProto.Types.DataType.Float, Dims = { 2 }, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(new[] { 0.5f, 0.25f }.AsSpan())) };
            File.WriteAllBytes(Path.Combine(data, "input_0.pb"), x.ToByteArray());

            var judged = Assert.Single(Float32Judge.Judge(reference, output, folder, seed: 3, Fp16Tolerance)!);

            Assert.Equal(cleared, judged.Mismatch is null);
            Assert.Equal(0, judged.ReferenceError);
            Assert.Equal(cleared ? 0 : 1e-2, judged.OutputError, 3e-3);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void An_output_of_another_shape_with_the_same_values_is_never_cleared()
    {
        // the "output" reshapes y to [1, 2]: the same two numbers, another shape
        var folder = Directory.CreateTempSubdirectory("forge-fuzz-test-").FullName;
        try
        {
            var reference = Path.Combine(folder, "model.onnx");
            File.WriteAllBytes(reference, Fp16Model(k: 65504f, w: 0.25f).ToByteArray());
            var reshaped = Fp16Model(k: 65504f, w: 0.25f);
            var target = new TensorProto { Name = "target", DataType = (int)TensorProto.Types.DataType.Int64, Dims = { 2 }, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(new[] { 1L, 2L }.AsSpan())) };
            reshaped.Graph.Initializer.Add(target);
            reshaped.Graph.Node.Single(n => n.Output[0] == "y").Output[0] = "y_flat";
            reshaped.Graph.Node.Add(new NodeProto { OpType = "Reshape", Name = "r", Input = { "y_flat", "target" }, Output = { "y" } });
            reshaped.Graph.Output[0].Type.TensorType.Shape = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dimension { DimValue = 1 }, new TensorShapeProto.Types.Dimension { DimValue = 2 } } };
            var output = Path.Combine(folder, "out.onnx");
            File.WriteAllBytes(output, reshaped.ToByteArray());

            var judged = Assert.Single(Float32Judge.Judge(reference, output, folder, seed: 3, Fp16Tolerance)!);

            Assert.Contains("shapes differ", judged.Mismatch);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// x (float32[2]) → Mul by the float32 weight [k, k] → Cast(fp16) → Mul by Constant(fp16 [w, w]) → y (fp16[2]); also
    /// an fp16 initializer 'w' of the same values, read by the Constant's twin Mul so both storages are widened.
    /// </summary>
    private static ModelProto Fp16Model(float k, float w)
    {
        static TensorProto Tensor(string name, TensorProto.Types.DataType type, float value)
        {
            var t = new TensorProto { Name = name, DataType = (int)type };
            t.Dims.Add(2);
            t.RawData = type == TensorProto.Types.DataType.Float16
                ? ByteString.CopyFrom(MemoryMarshal.AsBytes(new[] { (Half)value, (Half)value }.AsSpan()))
                : ByteString.CopyFrom(MemoryMarshal.AsBytes(new[] { value, value }.AsSpan()));
            return t;
        }

        static ValueInfoProto Info(string name, TensorProto.Types.DataType type) => new()
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dimension { DimValue = 2 } } } } },
        };

        var graph = new GraphProto { Name = "g" };
        graph.Input.Add(Info("x", TensorProto.Types.DataType.Float));
        graph.Output.Add(Info("y", TensorProto.Types.DataType.Float16));
        graph.Initializer.Add(Tensor("k", TensorProto.Types.DataType.Float, k));
        graph.Initializer.Add(Tensor("w", TensorProto.Types.DataType.Float16, w));
        graph.Node.Add(new NodeProto { OpType = "Mul", Name = "m0", Input = { "x", "k" }, Output = { "xk" } });
        graph.Node.Add(new NodeProto { OpType = "Cast", Name = "cast", Input = { "xk" }, Output = { "xh" }, Attribute = { new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = (long)TensorProto.Types.DataType.Float16 } } });
        graph.Node.Add(new NodeProto { OpType = "Constant", Name = "c", Output = { "c" }, Attribute = { new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = Tensor("c", TensorProto.Types.DataType.Float16, w) } } });
        graph.Node.Add(new NodeProto { OpType = "Mul", Name = "m1", Input = { "xh", "c" }, Output = { "xc" } });
        graph.Node.Add(new NodeProto { OpType = "Max", Name = "m2", Input = { "xc", "xc", "w" }, Output = { "y" } });
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return model;
    }
}
