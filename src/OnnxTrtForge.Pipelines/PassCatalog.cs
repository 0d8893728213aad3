namespace OnnxTrtForge.Pipelines;

public enum PassOptionKind
{
    Size,
    Count,
}

/// <summary>
/// The pass and rewrite-rule names a pipeline may use, checked before anything runs. The default
/// mirrors Core's PassRegistry and RewriteRuleRegistry.
/// </summary>
public sealed record PassCatalog(IReadOnlyList<string> Passes, IReadOnlyList<string> Rules)
{
    public const string Fp16Pass = "to-fp16";

    public static PassCatalog Default { get; } = new(
        [
            "lift-constants", "rewrite-rules", "remove-identity", "infer-shapes", "fold-constants", "remove-redundant-casts",
            "simplify-arithmetic", "simplify-reshape-transpose", "absorb-transpose-into-einsum", "cse", "remove-dead-nodes",
            "dedup-initializers", "remove-unused-initializers", "topological-sort",
        ],
        ["aten-broadcast-to-expand"]);

    /// <summary>The options a pass accepts in YAML (<c>- fold-constants: {max-output: 1M}</c>).</summary>
    public static IReadOnlyDictionary<string, PassOptionKind> OptionsOf(string pass) => pass switch
    {
        "fold-constants" => new Dictionary<string, PassOptionKind> { ["max-output"] = PassOptionKind.Size, ["max-growth"] = PassOptionKind.Size },
        _ => new Dictionary<string, PassOptionKind>(),
    };
}
