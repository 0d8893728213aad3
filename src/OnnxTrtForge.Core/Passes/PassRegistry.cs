using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes.Fusion.OrtCuda;
using OnnxTrtForge.Core.Rewrites;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// The passes <c>forge optimize</c> knows, selected by kebab-case name. A pass with a parameterless
/// constructor registers with one line (<see cref="Register{TPass}"/>); one that needs options
/// registers a factory that reads them from <see cref="OptimizeOptions"/>.
/// </summary>
public sealed class PassRegistry
{
    private readonly Dictionary<string, Func<OptimizeOptions, IGraphPass>> factories = new(StringComparer.Ordinal);
    private readonly List<string> order = [];

    /// <summary>
    /// The default pipeline, in one place (like onnxscript's optimize_ir): rewrite rules, constant
    /// folding and dead-node removal to a fixed point, then one-shot cleanups. Every name is a
    /// registered pass (a test holds the list to that).
    /// </summary>
    public static IReadOnlyList<PipelineStage> DefaultPipeline { get; } =
    [
        PipelineStage.UntilFixedPoint(
            "lift-constants",
            "rewrite-rules",
            "remove-identity",
            "infer-shapes",
            "fold-constants",
            "fold-symbolic-shapes",
            "remove-redundant-casts",
            "simplify-arithmetic",
            "simplify-reshape-transpose",
            "simplify-slices",
            "simplify-group-norm",
            "absorb-transpose-into-einsum",
            "split-heads-into-einsum",
            "cse",
            "remove-dead-nodes"),
        PipelineStage.Once(
            "remove-identity",
            "dedup-initializers",
            "cse",
            "remove-redundant-casts",
            "remove-dead-nodes",
            "remove-unused-initializers",
            "topological-sort"),
    ];

    /// <summary>
    /// Mixed precision, the same stage from every door (<c>forge optimize --fp16</c> and a pipeline's fp16 section):
    /// <c>to-fp16</c> (which composes the Cast cleanup), then the removal of what the conversion left unused.
    /// </summary>
    public static PipelineStage Fp16Stage { get; } = PipelineStage.Once(
        "to-fp16",
        "remove-redundant-casts",
        "remove-dead-nodes",
        "remove-unused-initializers",
        "topological-sort");

    /// <summary>
    /// The stages a target adds after the portable pipeline: <c>tensorrt</c> a check that only standard
    /// ops remain; <c>ort-cuda</c> the fusions into ONNX Runtime CUDA contrib ops (attention first, as it
    /// reads the layer norms' outputs that later fusions rewrite), then cleanup.
    /// </summary>
    public static IReadOnlyList<PipelineStage> TargetPipeline(OptimizeTarget target) => target switch
    {
        OptimizeTarget.TensorRt => [PipelineStage.Once("check-standard-ops")],
        OptimizeTarget.OrtCuda =>
        [
            PipelineStage.Once(OrtCudaFusions.Passes.ToArray()),
            PipelineStage.Once(
                "remove-dead-nodes",
                "remove-unused-initializers",
                "dedup-initializers",
                "topological-sort"),
        ],
        _ => [],
    };

    /// <summary>Every pass of this project, registered by name.</summary>
    public static PassRegistry CreateDefault() => new PassRegistry()
        .Register<ConstantLiftingPass>()
        .Register("rewrite-rules", o => new RewriteRulesPass(RewriteRuleRegistry.Select(o.Rules)))
        .Register<IdentityEliminationPass>()
        .Register<DeadNodeEliminationPass>()
        .Register<UnusedInitializerRemovalPass>()
        .Register<InitializerDeduplicationPass>()
        .Register<CommonSubexpressionEliminationPass>()
        .Register<TopologicalSortPass>()
        .Register<ShapeInferencePass>()
        .Register<SymbolicShapeFoldingPass>()
        .Register("fold-constants", o => new ConstantFoldingPass(new ConstantFoldingOptions(MaxOutputBytes: o.FoldOutputLimitBytes, MaxGrowthBytes: o.MaxWeightGrowthBytes, MaxEvaluationBytes: o.MaxFoldBytes)))
        .Register<CastCleanupPass>()
        .Register<ArithmeticSimplificationPass>()
        .Register<ReshapeChainPass>()
        .Register<GroupNormAsInstanceNormPass>()
        .Register<EinsumTransposeAbsorptionPass>()
        .Register<EinsumHeadSplitPass>()
        .Register<SliceSimplificationPass>()
        .Register("to-fp16", o => new ToFp16Pass(o.Fp16))
        .Register<StandardOpsCheckPass>()
        .Register<AttentionFusionPass>()
        .Register<LayerNormFusionPass>()
        .Register<BiasSplitGeluFusionPass>()
        .Register<GroupNormFusionPass>()
        .Register<NhwcConvFusionPass>()
        .Register<TransposeOptimizationPass>()
        .Register<SkipGroupNormFusionPass>()
        .Register("fix-input-shapes", o => new FixInputShapesPass(o.InputShapes ?? new Dictionary<string, long[]>()));

    public IReadOnlyList<string> Names => order;

    public bool Contains(string name) => factories.ContainsKey(name);

    /// <summary>Registers a pass built by <paramref name="factory"/> under <paramref name="name"/> (kebab-case).</summary>
    public PassRegistry Register(string name, Func<OptimizeOptions, IGraphPass> factory)
    {
        if (!IsKebabCase(name))
        {
            throw new ArgumentException($"pass name '{name}' is not kebab-case", nameof(name));
        }

        if (!factories.TryAdd(name, factory))
        {
            throw new ArgumentException($"pass '{name}' is registered twice", nameof(name));
        }

        order.Add(name);
        return this;
    }

    /// <summary>Registers a pass with a parameterless constructor under its own <see cref="IGraphPass.Name"/>.</summary>
    public PassRegistry Register<TPass>()
        where TPass : IGraphPass, new() => Register(new TPass().Name, _ => new TPass());

    /// <summary>Creates the named pass; an unknown name is a bad-input error that lists the known ones.</summary>
    public IGraphPass Create(string name, OptimizeOptions options)
    {
        if (!factories.TryGetValue(name, out var factory))
        {
            throw new ForgeInputException($"unknown pass '{name}'; known passes: {string.Join(", ", order)}");
        }

        var pass = factory(options);
        if (pass.Name != name)
        {
            throw new InvalidOperationException($"pass registered as '{name}' calls itself '{pass.Name}'");
        }

        return pass;
    }

    public static bool IsKebabCase(string name) =>
        name.Length > 0 && char.IsAsciiLetterLower(name[0]) && name[^1] != '-' && !name.Contains("--", StringComparison.Ordinal)
        && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');
}
