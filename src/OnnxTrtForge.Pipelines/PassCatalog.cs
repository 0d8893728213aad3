using OnnxTrtForge.Core.Passes;
using OnnxTrtForge.Core.Rewrites;

namespace OnnxTrtForge.Pipelines;

public enum PassOptionKind
{
    Size,
    Count,
}

/// <summary>
/// The pass and rewrite-rule names a pipeline may use, checked before anything runs. The default
/// is Core's PassRegistry and RewriteRuleRegistry.
/// </summary>
public sealed record PassCatalog(IReadOnlyList<string> Passes, IReadOnlyList<string> Rules)
{
    public const string Fp16Pass = "to-fp16";

    public static PassCatalog Default { get; } = new(PassRegistry.CreateDefault().Names, RewriteRuleRegistry.Names);

    /// <summary>The options a pass accepts in YAML (<c>- fold-constants: {max-output: 1M}</c>).</summary>
    public static IReadOnlyDictionary<string, PassOptionKind> OptionsOf(string pass) => pass switch
    {
        "fold-constants" => new Dictionary<string, PassOptionKind> { ["max-output"] = PassOptionKind.Size, ["max-growth"] = PassOptionKind.Size, ["max-fold-bytes"] = PassOptionKind.Size },
        _ => new Dictionary<string, PassOptionKind>(),
    };
}
