using OnnxTrtForge.Core.Evaluation;
using OnnxTrtForge.Core.Passes;
using OnnxTrtForge.Core.Passes.Inference;
using Shapes = OnnxTrtForge.Core.Passes.Inference.ShapeFunctions;

namespace OnnxTrtForge.Core.Ops;

/// <summary>
/// The op-schema table forge reads: the ai.onnx ops that diffusion exports (and their usual neighbours) use,
/// written from the ONNX operator schemas, and the com.microsoft contrib ops the ort-cuda fusions emit, from
/// ONNX Runtime's ContribOperators.md. Ops are declared by family (type rule and shape function), then the
/// evaluators, determinism, TensorRT parsability and fp16 behaviour are stated once each, by op. Shape
/// functions live in <see cref="ShapeFunctions"/> (bodies in <see cref="ShapeInference"/>), evaluators in
/// <see cref="ElementwiseEvaluators"/> and <see cref="TensorEvaluators"/>: the table references them.
/// An op not listed is unknown: its declared types are trusted, it is never folded, merged or retyped.
/// </summary>
public static class OpSchemas
{
    /// <summary>ONNX defines default-domain opsets 1 to 23 as of this table.</summary>
    public const long MaxKnownOnnxOpset = 23;

    public static OpSchemaTable Default { get; } = Build();

    private static OpSchemaTable Build()
    {
        var b = new Builder();

        // ---- elementwise unary math and activations: T in, T out, the input's shape
        b.Ops("T->T", Shapes.SameAsInput,
            "Abs", "Neg", "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Reciprocal", "Sin", "Cos", "Tan", "Erf", "Floor", "Ceil",
            "Round", "Sign", "Softplus", "HardSigmoid", "HardSwish", "Elu", "Selu", "LeakyRelu", "Gelu", "Mish", "Identity", "Not",
            "Softmax", "LogSoftmax");
        b.Ops("T->T", null,
            "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Softsign", "ThresholdedRelu", "Celu", "Hardmax",
            "Shrink", "Det");

        // ---- elementwise binary and variadic: numpy broadcasting
        b.Ops("T,T->T", Shapes.Broadcasting, "Add", "Sub", "Mul", "Div", "Mod", "PRelu");
        b.Ops("T,T->T", Shapes.BroadcastingToBool, "And", "Or", "Xor");
        b.Ops("T,T->T", null, "BitShift");
        b.Ops("T,T->Bool", Shapes.BroadcastingToBool, "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual");
        b.Ops("T*->T", Shapes.Broadcasting, "Sum", "Mean", "Max", "Min");

        // Pow-7 ties the exponent to T; from opset 12 it is T1, any numeric type
        b.Ops("T,T->T", Shapes.Broadcasting, "Pow");
        b.Version(12, "T,Any->T", "Pow");
        b.Ops("Bool,T,T->T", Shapes.Where, "Where");

        // ---- linear algebra and convolution
        b.Ops("T,T->T", Shapes.MatMul, "MatMul");
        b.Ops("T,T,T->T", Shapes.Gemm, "Gemm");
        b.Ops("T,T,T->T", Shapes.Conv, "Conv");
        b.Ops("T,T,T->T", null, "ConvTranspose");
        b.Ops("T*->T", Shapes.Einsum, "Einsum");

        // ---- normalization
        b.Ops("T,T,T->T", Shapes.SameAsInput, "InstanceNormalization", "GroupNormalization");
        b.Ops("T,T,T->T,StashType,StashType", Shapes.SameAsInput, "LayerNormalization");
        b.Ops("T->T", null, "LpNormalization", "MeanVarianceNormalization");

        // BatchNormalization: one T for all five inputs (and the training outputs) before opset 14;
        // mean/var become U at 14; scale/B become T1 and mean/var T2 at 15
        b.Ops("T,T,T,T,T->T,T,T,T,T", Shapes.SameAsInput, "BatchNormalization");
        b.Version(14, "T,T,T,T2,T2->T,T2,T2", "BatchNormalization");
        b.Version(15, "T,T1,T1,T2,T2->T,T2,T2", "BatchNormalization");

        // Clip-6 takes min/max as attributes; from opset 11 they are optional inputs of type T
        b.Ops("T->T", Shapes.SameAsInput, "Clip");
        b.Version(11, "T,T,T->T", "Clip");

        // Dropout-7's mask is T, a bool from opset 10; ratio and training_mode are inputs from opset 12
        b.Ops("T->T,T", Shapes.SameAsInput, "Dropout");
        b.Version(10, "T->T,Bool", "Dropout");
        b.Version(12, "T,Any,Any->T,Bool", "Dropout");

        // ---- pooling
        b.Ops("T->T", null, "GlobalAveragePool", "GlobalMaxPool", "AveragePool", "LpPool");
        b.Ops("T->T,Int64", null, "MaxPool");

        // ---- reductions: data and (from opset 13/18) an axes input
        b.Ops("T,Any->T", Shapes.Reduce, "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2");
        b.Ops("T,Any->T", null, "ReduceL1", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare");
        b.Ops("T->Int64", null, "ArgMax", "ArgMin");
        b.Ops("T,Any->T,Int64", null, "TopK");
        b.Ops("T,Any->T", Shapes.SameAsInput, "CumSum");

        // ---- shape and layout: data of type T, shapes int64, axes/indices of any integer type
        b.Ops("T,Int64->T", Shapes.Reshape, "Reshape");
        b.Ops("T,Any->T", Shapes.Squeeze, "Squeeze");
        b.Ops("T,Any->T", Shapes.Unsqueeze, "Unsqueeze");
        b.Ops("T,Int64->T", Shapes.Expand, "Expand");
        b.Ops("T,Any->T", Shapes.Gather, "Gather");
        b.Ops("T,Int64->T", null, "Tile");
        b.Ops("T,Any->T", null, "GatherElements", "GatherND", "Trilu", "GridSample");
        b.Ops("T->T", Shapes.Transpose, "Transpose");
        b.Ops("T->T", Shapes.Flatten, "Flatten");
        b.Ops("T->T", null, "DepthToSpace", "SpaceToDepth");
        b.Ops("T*->T", Shapes.Concat, "Concat");
        b.Ops("T,Any->T*", Shapes.Split, "Split");
        b.Ops("T,Any,Any,Any,Any->T", Shapes.Slice, "Slice");
        b.Ops("T,Any,T,Any->T", null, "Pad", "ScatterElements", "ScatterND", "Scatter");

        // Resize-10 is (X, scales); from opset 11 (X, roi, scales, sizes) with roi of any float type
        b.Ops("T,Float32->T", Shapes.Resize, "Resize", since: 10);
        b.Version(11, "T,Any,Float32,Any->T", "Resize");
        b.Ops("T,Float32->T", null, "Upsample");

        // ---- shape queries, types, generators
        b.Ops("Any->Int64", Shapes.Shape, "Shape");
        b.Ops("Any->Int64", Shapes.Size, "Size");
        b.Ops("Any->Int64", null, "NonZero");
        b.Ops("T->Bool", null, "IsNaN", "IsInf");
        b.Ops("Any->CastTo", Shapes.Cast, "Cast");
        b.Ops("Any,T->T", Shapes.CastLike, "CastLike");
        b.Ops("->ValueAttribute", Shapes.Constant, "Constant");
        b.Ops("Int64->ValueAttribute", Shapes.ConstantOfShape, "ConstantOfShape");
        b.Ops("T,T,T->T", Shapes.Range, "Range");
        b.Ops("->DTypeAttribute", null, "RandomNormal", "RandomUniform");
        b.Ops("T->DTypeAttribute", null, "RandomNormalLike", "RandomUniformLike", "EyeLike");
        b.Ops("Any,Any,T->T", null, "OneHot");
        b.Ops("T,T,Any->T", null, "RoiAlign");

        // ---- known by name, types not modelled (declared types trusted, kept float32 by to-fp16)
        b.Ops(null, null,
            "If", "Loop", "Scan", "DeformConv", "GlobalLpPool", "MaxRoiPool", "MaxUnpool", "GRU", "LSTM", "RNN", "Multinomial",
            "Bernoulli", "NonMaxSuppression");

        // the rest of the ai.onnx operator set (ONNX's Operators.md up to opset 23) and the experimental ops of early
        // opsets ONNX Runtime still runs: known by name, so an op name outside this table is refused, not passed on
        b.Ops(null, null,
            "AffineGrid", "Attention", "BitwiseAnd", "BitwiseNot", "BitwiseOr", "BitwiseXor", "BlackmanWindow", "CenterCropPad", "Col2Im",
            "Compress", "ConcatFromSequence", "ConvInteger", "DFT", "DequantizeLinear", "DynamicQuantizeLinear", "HammingWindow",
            "HannWindow", "ImageDecoder", "LRN", "MatMulInteger", "MelWeightMatrix", "NegativeLogLikelihoodLoss", "Optional",
            "OptionalGetElement", "OptionalHasElement", "QLinearConv", "QLinearMatMul", "QuantizeLinear", "RMSNormalization",
            "RegexFullMatch", "ReverseSequence", "RotaryEmbedding", "STFT", "SequenceAt", "SequenceConstruct", "SequenceEmpty",
            "SequenceErase", "SequenceInsert", "SequenceLength", "SequenceMap", "SoftmaxCrossEntropyLoss", "SplitToSequence",
            "StringConcat", "StringNormalizer", "StringSplit", "TfIdfVectorizer", "Unique",
            "Affine", "Crop", "DynamicSlice", "GivenTensorFill", "ImageScaler", "ParametricSoftplus", "Scale", "ScaledTanh");

        // ---- ONNX Runtime contrib ops (com.microsoft) of the ort-cuda fusions; GroupNorm's γ and β stay float32
        // whatever T is (the CUDA kernel reads them as float)
        b.Contrib("T,T,T,T,Any,T,T,T->T,T,T", "MultiHeadAttention");
        b.Contrib("T,Float32,Float32->T", "GroupNorm");
        b.Contrib("T,Float32,Float32,T,T->T,T", "SkipGroupNorm");
        b.Contrib("T,T,T->T", "NhwcConv", "BiasAdd");
        b.Contrib("T,T->T", "BiasSplitGelu");
        b.Contrib("T,T,T,T,T->T,Unknown,Unknown,T", "SkipLayerNormalization");

        // ---- the opset that introduced each op (its first version); the ops above not named here date from opset 1
        // to 7. A model whose default-domain import predates an op it uses is refused (ModelAdmission).
        b.Introduced(7, "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Multinomial", "Upsample");
        b.Introduced(8, "Expand");
        b.Introduced(9, "Erf", "IsNaN", "Sign", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Shrink", "NonZero", "OneHot", "Where", "EyeLike",
            "ConstantOfShape", "MeanVarianceNormalization", "Scatter", "MaxUnpool");
        b.Introduced(10, "Mod", "IsInf", "ThresholdedRelu", "RoiAlign", "NonMaxSuppression");
        b.Introduced(11, "Range", "CumSum", "Round", "Det", "BitShift", "ScatterElements", "ScatterND", "GatherElements", "GatherND");
        b.Introduced(12, "Einsum", "Celu", "LessOrEqual", "GreaterOrEqual");
        b.Introduced(14, "HardSwish", "Trilu");
        b.Introduced(15, "CastLike", "Bernoulli");
        b.Introduced(16, "GridSample");
        b.Introduced(17, "LayerNormalization");
        b.Introduced(18, "GroupNormalization", "Mish");
        b.Introduced(19, "DeformConv");
        b.Introduced(20, "Gelu");
        b.Introduced(23, "Attention", "RMSNormalization", "RotaryEmbedding");

        // ---- data propagation: the int64 shape arithmetic exporters emit, tracked over symbolic dims
        Propagate(b, ShapeValueTracker.ShapeValue, "Shape");
        Propagate(b, ShapeValueTracker.GatherValue, "Gather");
        Propagate(b, ShapeValueTracker.UnsqueezeValue, "Unsqueeze");
        Propagate(b, ShapeValueTracker.SqueezeValue, "Squeeze");
        Propagate(b, ShapeValueTracker.IdentityValue, "Identity");
        Propagate(b, ShapeValueTracker.CastValue, "Cast");
        Propagate(b, ShapeValueTracker.ConcatValue, "Concat");
        Propagate(b, ShapeValueTracker.SliceValue, "Slice");
        Propagate(b, ShapeValueTracker.ArithmeticValue, "Add", "Sub", "Mul", "Div", "Equal");
        Propagate(b, ShapeValueTracker.WhereValue, "Where");

        // ---- constant folding: the evaluators, and those whose result on uint64 does not depend on reading
        // its bits signed or unsigned (uint64 is stored as the bits of a long)
        foreach (var (op, evaluator) in ElementwiseEvaluators.All().Concat(TensorEvaluators.All()))
        {
            b.Edit(s => s with { Evaluator = evaluator }, op);
        }

        b.Edit(s => s with { EvaluatesUInt64 = true },
            "Identity", "Shape", "Size", "Reshape", "Unsqueeze", "Squeeze", "Flatten", "Concat", "Gather", "Slice", "Transpose", "Expand",
            "ConstantOfShape", "Split", "Add", "Sub", "Mul", "Equal", "Where", "Constant");

        // transcendentals run through vectorized approximations in the runtime and real Range accumulates where
        // forge multiplies: in floating point their last bits differ, so only integer inputs are folded
        b.Edit(s => s with { EvaluatesReals = false }, "Exp", "Log", "Sin", "Cos", "Tan", "Tanh", "Sigmoid", "Erf", "Reciprocal", "Range");

        // ---- ONNX-1 broadcasting: before opset 7 the binary ops broadcast B onto A under a `broadcast` attribute,
        // aligned at `axis`, and before opset 8 Sum/Mean/Max/Min take inputs of one shape. The output has A's shape;
        // numpy broadcasting (the shape function's conflicts, the evaluators, shape arithmetic) does not apply
        b.Legacy(7, s => s with { Shape = Shapes.LegacyBroadcasting, Evaluator = null, EvaluatesUInt64 = false, Value = null }, "Add", "Sub", "Mul", "Div", "Pow", "PRelu");
        b.Legacy(7, s => s with { Shape = Shapes.LegacyBroadcastingToBool, Evaluator = null, EvaluatesUInt64 = false, Value = null }, "And", "Or", "Xor", "Equal", "Less", "Greater");
        b.Legacy(8, s => s with { Shape = Shapes.LegacyBroadcasting, Evaluator = null, EvaluatesUInt64 = false, Value = null }, "Sum", "Mean", "Max", "Min");

        // ---- input counts ONNX fixes (ONNX Runtime refuses a node outside them at load); passes may then index
        // the inputs these ops always have. Read from ONNX's Changelog.md, version by version: "Inputs (a - b)"
        // where some are optional, the listed inputs otherwise; a count that changed is set from that version on.
        b.Edit(s => s with { InputCount = (1, 1) },
            "Abs", "Neg", "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Reciprocal", "Sin", "Cos", "Tan", "Erf", "Floor", "Ceil",
            "Round", "Sign", "Softplus", "Softmax", "LogSoftmax", "Identity", "Not", "Shape", "Size", "Transpose", "Cast", "Flatten",
            "ArgMax", "ArgMin", "DepthToSpace", "SpaceToDepth", "NonZero", "IsNaN", "IsInf", "LeakyRelu", "Elu", "Gelu", "HardSigmoid",
            "HardSwish", "Mish", "Selu", "Softsign", "GlobalAveragePool", "GlobalMaxPool", "MaxPool", "AveragePool", "ConstantOfShape",
            "EyeLike", "RandomNormalLike", "RandomUniformLike", "Multinomial");
        b.Edit(s => s with { InputCount = (0, 0) }, "RandomNormal", "RandomUniform");
        b.Edit(s => s with { InputCount = (2, 2) },
            "Add", "Sub", "Mul", "Div", "Mod", "PRelu", "Pow", "And", "Or", "Xor", "BitShift", "Equal", "Less", "Greater", "LessOrEqual",
            "GreaterOrEqual", "MatMul", "Expand", "Gather", "GatherElements", "GatherND", "CastLike", "CumSum", "GridSample");
        b.Edit(s => s with { InputCount = (3, 3) },
            "Where", "InstanceNormalization", "Range", "GroupNormalization", "OneHot", "ScatterElements", "ScatterND", "RoiAlign");
        b.Edit(s => s with { InputCount = (5, 5) }, "BatchNormalization");
        b.Edit(s => s with { InputCount = (2, 3) }, "Conv", "ConvTranspose", "LayerNormalization");
        b.Edit(s => s with { InputCount = (1, 2) }, "Trilu");
        b.Edit(s => s with { InputCount = (1, int.MaxValue) }, "Concat", "Einsum", "Sum", "Mean", "Max", "Min");
        b.Inputs(1, 1, 1, "Reshape", "Unsqueeze", "Squeeze", "Slice", "Clip", "Dropout", "TopK", "Pad", "Upsample", "ReduceSum",
            "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare");
        b.Inputs(1, 3, 3, "Tile", "Gemm");
        b.Inputs(1, 1, 2, "Split");
        b.Inputs(2, 1, 1, "Split");
        b.Inputs(5, 2, 2, "Reshape");
        b.Inputs(6, 2, 2, "Tile");
        b.Inputs(9, 2, 2, "Upsample");
        b.Inputs(10, 3, 5, "Slice");
        b.Inputs(10, 2, 2, "TopK", "Resize");
        b.Inputs(11, 1, 3, "Clip");
        b.Inputs(11, 2, 3, "Pad", "Gemm");
        b.Inputs(11, 3, 4, "Resize");
        b.Inputs(12, 1, 3, "Dropout");
        b.Inputs(13, 2, 2, "Unsqueeze");
        b.Inputs(13, 1, 2, "Squeeze", "Split", "ReduceSum");
        b.Inputs(13, 1, 4, "Resize");
        b.Inputs(18, 2, 4, "Pad");
        b.Inputs(18, 1, 2, "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp",
            "ReduceSumSquare");

        // ---- attributes that name an element type (TensorProto.DataType), from the ONNX operator schemas
        b.Edit(s => s with { DataTypeAttributes = [new("to", Required: true)] }, "Cast");
        b.Edit(s => s with { DataTypeAttributes = [new("dtype")] },
            "EyeLike", "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli", "SequenceEmpty");
        b.Edit(s => s with { DataTypeAttributes = [new("stash_type")] }, "LayerNormalization", "RMSNormalization");
        b.Edit(s => s with { DataTypeAttributes = [new("output_datatype")] }, "BlackmanWindow", "HammingWindow", "HannWindow", "MelWeightMatrix");
        b.Edit(s => s with { DataTypeAttributes = [new("output_dtype", ZeroInfers: true)] }, "QuantizeLinear", "DequantizeLinear");
        b.Edit(s => s with { DataTypeAttributes = [new("softmax_precision")] }, "Attention");

        // ---- determinism: random generators and Dropout (random in training mode) are never merged or folded
        b.Edit(s => s with { Deterministic = false },
            "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial", "Bernoulli", "Dropout");

        // ---- TensorRT: every ai.onnx op declared above (no contrib op) but these, which onnx-tensorrt's operator matrix marks unsupported
        b.Edit(s => s with { TensorRtParsable = false }, "BitShift", "Det", "MaxRoiPool", "Multinomial", "Bernoulli",
            "Compress", "ConcatFromSequence", "ConvInteger", "DynamicQuantizeLinear", "ImageDecoder", "MatMulInteger", "MelWeightMatrix",
            "NegativeLogLikelihoodLoss", "Optional", "OptionalGetElement", "OptionalHasElement", "QLinearConv", "QLinearMatMul",
            "RegexFullMatch", "STFT", "SequenceAt", "SequenceConstruct", "SequenceEmpty", "SequenceErase", "SequenceInsert",
            "SequenceLength", "SequenceMap", "SoftmaxCrossEntropyLoss", "SplitToSequence", "StringConcat", "StringNormalizer",
            "StringSplit", "TfIdfVectorizer", "Unique", "Affine", "Crop", "DynamicSlice", "GivenTensorFill", "Scale");

        // ---- fp16 behaviour. Float16 is in every op's T from its first version except: Range's and Celu's never,
        // CumSum's from 14, IsInf's from 20. Bfloat16 joined most ops at 13, the ones below only at 22, Einsum's never.
        b.Edit(s => s with { Half = s.Half with { Fp16Since = HalfBehaviour.Never } }, "Range", "Celu");
        b.Edit(s => s with { Half = s.Half with { Fp16Since = 14 } }, "CumSum");
        b.Edit(s => s with { Half = s.Half with { Fp16Since = 20 } }, "IsInf");
        b.Edit(s => s with { Half = s.Half with { Bf16Since = HalfBehaviour.Never } }, "Einsum");
        b.Edit(s => s with { Half = s.Half with { Bf16Since = 22 } },
            "Conv", "ConvTranspose", "DeformConv", "InstanceNormalization", "AveragePool", "MaxPool", "GlobalAveragePool", "GlobalMaxPool",
            "GlobalLpPool", "LpPool", "MaxRoiPool", "MaxUnpool", "LpNormalization", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh",
            "Cosh", "Asinh", "Acosh", "Atanh", "Round", "Softplus", "Softsign", "Elu", "Selu", "HardSigmoid", "HardSwish",
            "ThresholdedRelu", "Mish", "Dropout", "EyeLike", "GridSample", "Det", "RandomNormal", "RandomNormalLike", "RandomUniform",
            "RandomUniformLike", "Multinomial", "Bernoulli", "RoiAlign", "GRU", "LSTM", "RNN");
        b.Edit(s => s with { Half = s.Half with { Heavy = true } }, "Conv", "ConvTranspose", "MatMul", "Gemm", "Einsum");

        // the default op block list of to-fp16 (the sources and measurements are in Fp16Options.DefaultOpBlockList's summary):
        // reductions and norms: sums of squares overflow fp16 (65504) and accumulate rounding
        KeepFloat32(b, "ReduceMean", "ReduceSum", "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceProd",
            "InstanceNormalization", "LayerNormalization", "GroupNormalization", "BatchNormalization", "LpNormalization",
            "MeanVarianceNormalization");

        // the pieces of decomposed norms and of exponentials: overflow past 65504 (x² for |x|>256, e^x for x>11)
        KeepFloat32(b, "Pow", "Sqrt", "Reciprocal", "Exp", "Log");

        // timestep embeddings: arguments of ~1000 rad lose their fraction in fp16
        KeepFloat32(b, "Sin", "Cos");

        // index-like results and missing kernels (onnxconverter-common's DEFAULT_OP_BLOCK_LIST)
        KeepFloat32(b, "Range", "CumSum", "TopK", "NonMaxSuppression", "RoiAlign");

        // random generators (ONNX Runtime's Stable Diffusion recipe)
        KeepFloat32(b, "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial");

        return new OpSchemaTable(b.Schemas, new Dictionary<string, (long, long)>
        {
            [""] = (1, MaxKnownOnnxOpset),
            ["com.microsoft"] = (1, 1),
        });
    }

    private static void Propagate(Builder b, ShapeValueTracker.ValueFunction value, params string[] names) =>
        b.Edit(s => s with { Value = value }, names);

    private static void KeepFloat32(Builder b, params string[] names) =>
        b.Edit(s => s with { Half = s.Half with { KeepFloat32ByDefault = true } }, names);

    /// <summary>Collects the declarations; every edit names ops already declared, so a typo fails the build of the table.</summary>
    private sealed class Builder
    {
        private readonly List<OpSchema> schemas = [];

        public IEnumerable<OpSchema> Schemas => schemas;

        public void Ops(string? types, ShapeFunction? shape, params string[] names) => Ops(types, shape, names, 1);

        public void Ops(string? types, ShapeFunction? shape, string name, long since) => Ops(types, shape, [name], since);

        public void Contrib(string types, params string[] names)
        {
            foreach (var name in names)
            {
                Add(new OpSchema("com.microsoft", name, 1) { Types = OpTypeSignature.Parse(types) });
            }
        }

        /// <summary>A later version of declared ops: the same entry with another type rule.</summary>
        public void Version(long since, string types, params string[] names)
        {
            foreach (var name in names)
            {
                var latest = schemas.Where(s => s.Name == name && s.Domain.Length == 0).MaxBy(s => s.Since)
                    ?? throw new InvalidOperationException($"op schema {name}: a version before {since} must be declared first");
                Add(latest with { Since = since, Types = OpTypeSignature.Parse(types) });
            }
        }

        /// <summary>Moves the first version of ai.onnx ops declared from opset 1 to the opset that introduced them.</summary>
        public void Introduced(long since, params string[] names)
        {
            foreach (var name in names)
            {
                var index = schemas.FindIndex(s => s.Domain.Length == 0 && s.Name == name);
                if (index < 0 || schemas[index].Since != 1 || schemas.Any(s => s.Name == name && s.Since > 1 && s.Since <= since))
                {
                    throw new InvalidOperationException($"op schema {name}: introduced at {since} needs one first version declared from opset 1 and no version before {since}");
                }

                schemas[index] = schemas[index] with { Since = since };
            }
        }

        /// <summary>
        /// Sets the input count of the named ai.onnx ops from opset <paramref name="since"/> on, splitting the version
        /// that covers it when none starts there (ONNX changed the count at a version forge's type rules do not
        /// distinguish). Calls go from the oldest opset to the newest: a later one overrides the versions it covers.
        /// </summary>
        public void Inputs(long since, int min, int max, params string[] names)
        {
            foreach (var name in names)
            {
                var own = schemas.Where(s => s.Domain.Length == 0 && s.Name == name).ToList();
                if (own.Count == 0)
                {
                    throw new InvalidOperationException($"op schema {name}: not declared");
                }

                if (own.All(s => s.Since != since) && own.Where(s => s.Since < since).MaxBy(s => s.Since) is { } covering)
                {
                    Add(covering with { Since = since });
                }

                for (var i = 0; i < schemas.Count; i++)
                {
                    if (schemas[i].Domain.Length == 0 && schemas[i].Name == name && schemas[i].Since >= since)
                    {
                        schemas[i] = schemas[i] with { InputCount = (min, max) };
                    }
                }
            }
        }

        /// <summary>
        /// Changes the versions of the named ai.onnx ops before opset <paramref name="until"/>, splitting the version that
        /// covers <paramref name="until"/> so the later opsets keep the declaration as it was.
        /// </summary>
        public void Legacy(long until, Func<OpSchema, OpSchema> change, params string[] names)
        {
            foreach (var name in names)
            {
                var own = schemas.Where(s => s.Domain.Length == 0 && s.Name == name).ToList();
                if (own.Count == 0 || own.Min(s => s.Since) >= until)
                {
                    throw new InvalidOperationException($"op schema {name}: no version before {until} is declared");
                }

                if (own.All(s => s.Since != until) && own.Where(s => s.Since < until).MaxBy(s => s.Since) is { } covering)
                {
                    Add(covering with { Since = until });
                }

                for (var i = 0; i < schemas.Count; i++)
                {
                    if (schemas[i].Domain.Length == 0 && schemas[i].Name == name && schemas[i].Since < until)
                    {
                        schemas[i] = change(schemas[i]);
                    }
                }
            }
        }

        /// <summary>Changes every version of the named ops.</summary>
        public void Edit(Func<OpSchema, OpSchema> change, params string[] names)
        {
            foreach (var name in names)
            {
                var found = false;
                for (var i = 0; i < schemas.Count; i++)
                {
                    if (schemas[i].Name == name)
                    {
                        schemas[i] = change(schemas[i]);
                        found = true;
                    }
                }

                if (!found)
                {
                    throw new InvalidOperationException($"op schema {name}: not declared");
                }
            }
        }

        private void Ops(string? types, ShapeFunction? shape, string[] names, long since)
        {
            foreach (var name in names)
            {
                Add(new OpSchema("", name, since) { Types = types is null ? null : OpTypeSignature.Parse(types), Shape = shape, TensorRtParsable = true });
            }
        }

        private void Add(OpSchema schema)
        {
            if (schemas.Any(s => s.Domain == schema.Domain && s.Name == schema.Name && s.Since == schema.Since))
            {
                throw new InvalidOperationException($"op schema {schema} declared twice");
            }

            schemas.Add(schema);
        }
    }
}
