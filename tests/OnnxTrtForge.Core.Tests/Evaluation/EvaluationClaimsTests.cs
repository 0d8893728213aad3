using OnnxTrtForge.Core.Evaluation;
using OnnxTrtForge.Core.Ir;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;

namespace OnnxTrtForge.Core.Tests.Evaluation;

public sealed class EvaluationClaimsTests
{
    private static IReadOnlyList<HostTensor>? Evaluate(string op, HostTensor[] inputs, Attribute[]? attributes = null, long maxBytes = OpEvaluatorRegistry.DefaultMaxOutputBytes)
    {
        var graph = new Graph("g");
        var values = inputs.Select((t, i) => graph.AddInitializer(t.ToTensor(), $"in{i}")).ToList();
        var node = graph.Create(op, values, 1, attributes);
        return OpEvaluatorRegistry.CreateDefault().Evaluate(node, inputs, 17, maxBytes);
    }

    [Fact]
    public void ConstantOfShape_is_sized_before_it_is_evaluated_and_never_exceeds_the_fold_limit()
    {
        Assert.NotNull(Evaluate("ConstantOfShape", [HostTensor.Int64s(512, 512)], maxBytes: 1 << 20));
        Assert.Null(Evaluate("ConstantOfShape", [HostTensor.Int64s(1024, 512)], maxBytes: 1 << 20));
        Assert.Null(Evaluate("ConstantOfShape", [HostTensor.Int64s(1L << 62, 8)]));
        Assert.Null(Evaluate("ConstantOfShape", [HostTensor.Int64s(1L << 32, 1L << 32, 1L << 32)]));
        Assert.Null(Evaluate("ConstantOfShape", [HostTensor.Int64s(-1, 4)]));
    }

    [Fact]
    public void Float_to_integer_cast_folds_only_finite_values_the_target_holds()
    {
        var to32 = new[] { Attribute.Int("to", (long)DataType.Int32) };

        var exact = Evaluate("Cast", [HostTensor.Real(DataType.Float, [2], [3.7, -2.5])], to32);

        Assert.Equal([3L, -2L], exact![0].Integers!);
        Assert.Null(Evaluate("Cast", [HostTensor.Real(DataType.Float, [2], [1, double.NaN])], to32));
        Assert.Null(Evaluate("Cast", [HostTensor.Real(DataType.Float, [1], [3e9])], to32));
        Assert.Null(Evaluate("Cast", [HostTensor.Real(DataType.Float, [1], [double.PositiveInfinity])], [Attribute.Int("to", (long)DataType.Int64)]));
    }

    [Fact]
    public void Uint64_is_never_compared_or_converted_as_if_it_were_signed()
    {
        var big = HostTensor.Integer(DataType.UInt64, [1], [unchecked((long)ulong.MaxValue)]);
        var one = HostTensor.Integer(DataType.UInt64, [1], [1]);

        Assert.Null(Evaluate("Less", [big, one]));
        Assert.Null(Evaluate("Cast", [big], [Attribute.Int("to", (long)DataType.Float)]));
        Assert.Null(Evaluate("Div", [big, one]));
        Assert.Equal([0L], Evaluate("Add", [big, one])![0].Integers!);
        Assert.Equal([1L], Evaluate("Equal", [big, big])![0].Integers!);
    }

    [Fact]
    public void Sign_of_nan_and_abs_of_the_most_negative_integer_are_left_to_the_runtime_without_an_exception()
    {
        Assert.Null(Evaluate("Sign", [HostTensor.Real(DataType.Float, [2], [1, double.NaN])]));
        Assert.Null(Evaluate("Abs", [HostTensor.Int64s(long.MinValue, 3)]));
        Assert.Null(Evaluate("Abs", [HostTensor.Integer(DataType.Int32, [1], [int.MinValue])]));
        Assert.Equal([-1L, 0L, 1L], Evaluate("Sign", [HostTensor.Int64s(-5, 0, 9)])![0].Integers!);
        Assert.Equal([long.MaxValue], Evaluate("Abs", [HostTensor.Int64s(-long.MaxValue)])![0].Integers!);
    }

    [Fact]
    public void Slice_with_extreme_steps_counts_its_elements_without_overflow()
    {
        var x = HostTensor.Int64s(10, 11, 12, 13, 14, 15);

        var forward = Evaluate("Slice", [x, HostTensor.Int64s(0), HostTensor.Int64s(long.MaxValue), HostTensor.Int64s(0), HostTensor.Int64s(long.MaxValue)]);
        var backward = Evaluate("Slice", [x, HostTensor.Int64s(long.MaxValue), HostTensor.Int64s(long.MinValue), HostTensor.Int64s(0), HostTensor.Int64s(long.MinValue)]);

        Assert.Equal([10L], forward![0].Integers!);
        Assert.Equal([15L], backward![0].Integers!);
    }
}
