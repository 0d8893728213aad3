using OnnxTrtForge.Core.Ir;
using Attribute = OnnxTrtForge.Core.Ir.Attribute;
using OnnxTrtForge.Core.Passes;
using OnnxTrtForge.Core.Serialization;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.Core.Tests.Passes;

/// <summary>
/// Builds tiny models in code and checks a pass the way STYLE.md asks: run before and after in ONNX
/// Runtime (CPU, optimizations off) on seeded random inputs and compare.
/// </summary>
internal sealed class TinyModel
{
    public TinyModel(long opset = 13)
    {
        Model = new Model(Graph);
        Model.OpsetImports[""] = opset;
    }

    public Graph Graph { get; } = new("tiny");

    public Model Model { get; }

    public Value Input(string name, DataType type, params long[] dims) => Graph.AddInput(name, TypeInfo.OfTensor(type, dims));

    public Value Floats(string name, long[] dims, params float[] values) => Graph.AddInitializer(Tensor.FromFloats(dims, values), name);

    public Value Int64s(string name, params long[] values) => Graph.AddInitializer(Tensor.FromInt64s([values.Length], values), name);

    public Value Const(Tensor tensor, string name) => Graph.AddInitializer(tensor, name);

    public Node Op(string op, Value?[] inputs, params Attribute[] attributes) => Graph.Create(op, inputs, attributes: attributes);

    public Node Op(string op, Value?[] inputs, int outputs, params Attribute[] attributes) => Graph.Create(op, inputs, outputs, attributes);

    /// <summary>Marks a value as a graph output with the given type (ORT wants typed outputs).</summary>
    public void Output(Value value, DataType type, params long[] dims)
    {
        value.Type = TypeInfo.OfTensor(type, dims);
        Graph.Outputs.Add(value);
    }

    public IReadOnlyList<string> Ops => Graph.Nodes.Select(n => n.OpType).ToList();

    /// <summary>Seeded random inputs for every graph input (floats in [-2, 2), integers in [0, 5)).</summary>
    public IReadOnlyList<Tensor> RandomInputs(int seed = 7) => Graph.Inputs.Select(v => Random(v.Type!, seed++)).ToList();

    public static Tensor Random(TypeInfo type, int seed)
    {
        var rng = new Random(seed);
        var dims = type.StaticDims!;
        var n = (int)dims.Aggregate(1L, (a, b) => a * b);
        return type.ElementType switch
        {
            DataType.Float => Tensor.FromFloats(dims, Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 4) - 2)).ToArray()),
            DataType.Float16 => Tensor.FromArray(DataType.Float16, dims, Enumerable.Range(0, n).Select(_ => (Half)((rng.NextDouble() * 4) - 2)).ToArray()),
            DataType.Int64 => Tensor.FromInt64s(dims, Enumerable.Range(0, n).Select(_ => (long)rng.Next(0, 5)).ToArray()),
            DataType.Int32 => Tensor.FromArray(DataType.Int32, dims, Enumerable.Range(0, n).Select(_ => rng.Next(-100, 100)).ToArray()),
            DataType.Int8 => Tensor.FromArray(DataType.Int8, dims, Enumerable.Range(0, n).Select(_ => (sbyte)rng.Next(-128, 128)).ToArray()),
            DataType.Bool => Tensor.FromArray(DataType.Bool, dims, Enumerable.Range(0, n).Select(_ => (byte)rng.Next(0, 2)).ToArray()),
            _ => throw new NotSupportedException(type.ToString()),
        };
    }

    /// <summary>Runs the model as it is now in ONNX Runtime.</summary>
    public IReadOnlyList<Tensor> RunOrt(IReadOnlyList<Tensor> inputs) => OrtRunner.Run(Model, inputs);

    /// <summary>Runs ORT, then the pass, then ORT again; returns the pass result and both outputs.</summary>
    public (PassResult Result, IReadOnlyList<Tensor> Before, IReadOnlyList<Tensor> After) RunPass(IGraphPass pass, int seed = 7)
    {
        var inputs = RandomInputs(seed);
        var before = RunOrt(inputs);
        var result = pass.Run(Model);
        var after = RunOrt(inputs);
        return (result, before, after);
    }

    /// <summary>Asserts both lists hold the same tensors: same dims, and elements equal (or within a relative L2).</summary>
    public static void AssertSame(IReadOnlyList<Tensor> before, IReadOnlyList<Tensor> after, double tolerance = 0)
    {
        Assert.Equal(before.Count, after.Count);
        for (var i = 0; i < before.Count; i++)
        {
            Assert.Equal(before[i].Type, after[i].Type);
            Assert.Equal(before[i].Dims, after[i].Dims);
            if (tolerance == 0)
            {
                Assert.True(before[i].Data.Span.SequenceEqual(after[i].Data.Span), $"output {i} differs");
            }
            else
            {
                Assert.InRange(OrtRunner.RelativeL2(after[i], before[i]), 0, tolerance);
            }
        }
    }
}
