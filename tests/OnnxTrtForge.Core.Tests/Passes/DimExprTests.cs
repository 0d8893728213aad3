using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Tests.Passes;

public sealed class DimExprTests
{
    private static readonly DimExpr A = DimExpr.Symbol("a");
    private static readonly DimExpr B = DimExpr.Symbol("b");

    [Fact]
    public void Equal_expressions_written_differently_have_one_normal_form()
    {
        Assert.Equal(DimExpr.Add(A, B), DimExpr.Add(B, A));
        Assert.Equal(DimExpr.Multiply(DimExpr.Const(2), DimExpr.Add(A, DimExpr.Const(1))), DimExpr.Add(DimExpr.Multiply(A, DimExpr.Const(2)), DimExpr.Const(2)));
        Assert.Equal(DimExpr.Multiply(A, B), DimExpr.Multiply(B, A));
        Assert.Equal(A, DimExpr.Subtract(DimExpr.Add(A, B), B));
        Assert.Equal("2*a+2", DimExpr.Multiply(DimExpr.Const(2), DimExpr.Add(A, DimExpr.Const(1)))!.Text);
    }

    [Fact]
    public void Floor_division_keeps_exact_multiples_outside_and_merges_nested_floors()
    {
        Assert.Equal(DimExpr.Add(A, DimExpr.Const(1)), DimExpr.FloorDivide(DimExpr.Add(DimExpr.Multiply(DimExpr.Const(2), A), DimExpr.Const(3)), 2));
        Assert.Equal(A, DimExpr.FloorDivide(DimExpr.Multiply(DimExpr.Const(8), A), 8));

        // floor((floor((h+1)/2) + 1) / 2) = floor((h+3)/4): two stride-2 convolutions
        var h = DimExpr.Symbol("h");
        var once = DimExpr.FloorDivide(DimExpr.Add(h, DimExpr.Const(1)), 2);
        Assert.Equal(DimExpr.FloorDivide(DimExpr.Add(h, DimExpr.Const(3)), 4), DimExpr.FloorDivide(DimExpr.Add(once, DimExpr.Const(1)), 2));
        Assert.NotEqual(h, DimExpr.Multiply(DimExpr.Const(2), once));
    }

    [Fact]
    public void Floor_division_of_a_possibly_negative_expression_is_unknown_because_onnx_truncates()
    {
        Assert.Null(DimExpr.FloorDivide(DimExpr.Subtract(A, DimExpr.Const(3)), 2));
        Assert.Null(DimExpr.FloorDivide(A, 0));

        // dividing by 1 is exact whatever the sign (a stride-1 convolution without padding)
        Assert.Equal(DimExpr.Subtract(A, DimExpr.Const(2)), DimExpr.FloorDivide(DimExpr.Subtract(A, DimExpr.Const(2)), 1));
    }

    [Fact]
    public void Exact_division_succeeds_only_when_it_holds_for_every_value_of_the_symbols()
    {
        Assert.Equal(B, DimExpr.ExactDivide(DimExpr.Multiply(A, B), A));
        Assert.Equal(DimExpr.Multiply(DimExpr.Const(4), A), DimExpr.ExactDivide(DimExpr.Multiply(DimExpr.Const(32), A), DimExpr.Const(8)));
        Assert.Null(DimExpr.ExactDivide(DimExpr.Add(A, DimExpr.Const(1)), DimExpr.Const(2)));
        Assert.Null(DimExpr.ExactDivide(A, B));
    }

    [Fact]
    public void Overflow_gives_unknown_instead_of_a_wrapped_value()
    {
        var big = DimExpr.Const(long.MaxValue);
        Assert.Null(DimExpr.Add(big, DimExpr.Const(1)));
        Assert.Null(DimExpr.Multiply(DimExpr.Multiply(A, big), DimExpr.Const(2)));
        Assert.Null(DimExpr.Subtract(DimExpr.Const(long.MinValue), DimExpr.Const(1)));
    }

    [Fact]
    public void A_dim_carries_an_expression_and_reads_back_sizes_and_names()
    {
        var twice = DimExpr.Multiply(DimExpr.Const(2), A);
        var dim = Dim.Of(twice);
        Assert.Equal("2*a", dim.Param);
        Assert.Equal(twice, dim.AsExpr());
        Assert.Equal(Dim.Of(5), Dim.Of(DimExpr.Const(5)));
        Assert.Equal(Dim.Symbol("a"), Dim.Of(A));
        Assert.Null(Dim.Unknown.AsExpr());
    }
}
