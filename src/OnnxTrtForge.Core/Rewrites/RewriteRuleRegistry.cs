using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Rewrites;

/// <summary>The rewrite rules forge knows, selected by name.</summary>
public static class RewriteRuleRegistry
{
    /// <summary>Every known rule, in the order they are tried.</summary>
    public static IReadOnlyList<IRewriteRule> All() => [new AtenBroadcastToExpand()];

    public static IReadOnlyList<string> Names => All().Select(r => r.Name).ToList();

    /// <summary>The named rules (null: all); an unknown name is a bad-input error listing the known ones.</summary>
    public static IReadOnlyList<IRewriteRule> Select(IReadOnlyList<string>? names)
    {
        var all = All();
        if (names is null)
        {
            return all;
        }

        return names.Select(n => all.FirstOrDefault(r => r.Name == n)
            ?? throw new ForgeInputException($"unknown rewrite rule '{n}'; known rules: {string.Join(", ", all.Select(r => r.Name))}")).ToList();
    }
}
