using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Rewrites;

/// <summary>
/// A local rewrite (like ONNX Runtime's RewriteRule and onnxscript's rewriter): it names the op types
/// it targets, says whether a node matches (or why not), and rewrites a matched node through the IR
/// API. <see cref="Rewrite"/> is only called after a successful <see cref="Match"/> on the same node.
/// </summary>
public interface IRewriteRule
{
    /// <summary>Kebab-case name, used to select the rule (YAML, <c>--rules</c>).</summary>
    string Name { get; }

    /// <summary>The (domain, op type) pairs this rule looks at; "" is the default ONNX domain.</summary>
    IReadOnlyList<OpKey> TargetOpTypes { get; }

    MatchResult Match(Node node);

    void Rewrite(Node node, Graph graph);
}

/// <summary>An op type in a domain ("" for ai.onnx).</summary>
public readonly record struct OpKey(string Domain, string OpType)
{
    public static OpKey Of(Node node) => new(node.IsOnnxDomain ? "" : node.Domain, node.OpType);

    public override string ToString() => Domain.Length == 0 ? OpType : $"{Domain}::{OpType}";
}

/// <summary>The outcome of <see cref="IRewriteRule.Match"/>: success, or the reason it does not apply.</summary>
public readonly record struct MatchResult(bool Success, string Reason)
{
    public static MatchResult Matched { get; } = new(true, "");

    public static MatchResult Fail(string reason) => new(false, reason);
}
