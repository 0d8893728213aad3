using OnnxTrtForge.Core.Evaluation;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Tests.Evaluation;

public sealed class HostTensorTests
{
    [Theory]
    [InlineData(1.0, 1.0)]
    [InlineData(1.00390625, 1.0)]         // halfway between 1 and 1+2^-7: ties to even (1)
    [InlineData(1.01171875, 1.015625)]    // halfway between 1+2^-7 and 1+2^-6: ties to even (1+2^-6)
    [InlineData(3.1415926, 3.140625)]
    [InlineData(-65504.0, -65536.0)]
    public void Rounds_bfloat16_to_nearest_even(double value, double expected)
    {
        Assert.Equal(expected, HostTensor.Round(DataType.BFloat16, value));
        var t = HostTensor.Real(DataType.BFloat16, [1], [value]).ToTensor();
        Assert.Equal(expected, t.ToDoubleArray()[0]);
    }

    [Fact]
    public void Rounds_float16_and_float_to_their_precision()
    {
        Assert.Equal(0.0999755859375, HostTensor.Round(DataType.Float16, 0.1));
        Assert.Equal((double)0.1f, HostTensor.Round(DataType.Float, 0.1));
        Assert.Equal(double.PositiveInfinity, HostTensor.Round(DataType.Float16, 70000));
    }

    [Fact]
    public void Wraps_integers_like_two_s_complement_and_bools_to_zero_or_one()
    {
        var t = HostTensor.Integer(DataType.Int32, [3], [int.MaxValue + 1L, -1, 5]);
        Assert.Equal([int.MinValue, -1L, 5], t.Integers!);
        Assert.Equal([0L, 1, 1], HostTensor.FromDoubles(DataType.Bool, [3], [0, 0.5, -2]).Integers!);
        Assert.Equal([2L, -2, long.MaxValue], HostTensor.FromDoubles(DataType.Int64, [3], [2.9, -2.9, 1e30]).Integers!);
    }

    [Fact]
    public void Round_trips_every_supported_type_through_the_ir_tensor()
    {
        foreach (var type in new[] { DataType.Float, DataType.Double, DataType.Float16, DataType.BFloat16 })
        {
            var t = HostTensor.Real(type, [2, 2], [0.5, -1.25, 3, 1024]);
            Assert.Equal(t.Reals!, HostTensor.FromTensor(t.ToTensor())!.Reals!);
        }

        foreach (var type in new[] { DataType.Int64, DataType.Int32, DataType.Int16, DataType.Int8, DataType.UInt8, DataType.UInt16, DataType.UInt32, DataType.Bool })
        {
            var t = HostTensor.Integer(type, [3], [0, 1, 100]);
            Assert.Equal(t.Integers!, HostTensor.FromTensor(t.ToTensor())!.Integers!);
        }
    }

    [Fact]
    public void Broadcasts_like_numpy_and_refuses_incompatible_shapes()
    {
        Assert.Equal([2L, 3, 4], ShapeMath.Broadcast([[2, 1, 4], [3, 1]])!);
        Assert.Null(ShapeMath.Broadcast([[2, 3], [4]]));
        Assert.Equal([0, 1, 2, 0, 1, 2], ShapeMath.BroadcastIndex([3], [2, 3]));
        Assert.Equal([2L, 12], ShapeMath.ReshapeTarget([2, 3, 4], [0, -1], allowZero: false)!);
        Assert.Null(ShapeMath.ReshapeTarget([2, 3, 4], [5, -1], allowZero: false));
    }
}
