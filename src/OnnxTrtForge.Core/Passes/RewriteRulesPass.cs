using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Rewrites;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// Applies a set of rewrite rules to every node they target (subgraphs included). Counts matches and
/// failures per rule and reason; an ATen fallback node that no rule rewrote is named in the notes, as
/// runtimes reject it. A custom-domain opset import that no node uses any more is dropped.
/// </summary>
public sealed class RewriteRulesPass(IReadOnlyList<IRewriteRule> rules) : IGraphPass
{
    public RewriteRulesPass()
        : this(RewriteRuleRegistry.All())
    {
    }

    public string Name => "rewrite-rules";

    public IReadOnlyList<IRewriteRule> Rules { get; } = rules;

    public PassResult Run(Model model)
    {
        var byOp = new Dictionary<OpKey, List<IRewriteRule>>();
        foreach (var rule in Rules)
        {
            foreach (var key in rule.TargetOpTypes)
            {
                (byOp.TryGetValue(key, out var list) ? list : byOp[key] = []).Add(rule);
            }
        }

        var counters = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var notes = new List<string>();
        var touchedDomains = new HashSet<string>(StringComparer.Ordinal);
        long rewritten = 0;
        foreach (var graph in GraphScope.All(model.Graph).ToList())
        {
            foreach (var node in graph.Nodes.ToList())
            {
                if (node.Graph is null || !byOp.TryGetValue(OpKey.Of(node), out var candidates))
                {
                    continue;
                }

                foreach (var rule in candidates)
                {
                    var match = rule.Match(node);
                    if (!match.Success)
                    {
                        Count(counters, $"{rule.Name}: no match: {match.Reason}");
                        continue;
                    }

                    rule.Rewrite(node, graph);
                    Count(counters, $"{rule.Name}: rewritten");
                    if (!node.IsOnnxDomain)
                    {
                        touchedDomains.Add(node.Domain);
                    }

                    rewritten++;
                    break;
                }
            }
        }

        foreach (var node in GraphScope.All(model.Graph).SelectMany(g => g.Nodes).Where(n => n.OpType == "ATen" && !n.IsOnnxDomain))
        {
            notes.Add($"ATen operator '{node.GetString("operator", "?")}' (node '{node.Name}') has no rewrite rule; ONNX Runtime and TensorRT reject it");
        }

        var used = GraphScope.All(model.Graph).SelectMany(g => g.Nodes).Select(n => n.Domain)
            .Concat(model.Functions.SelectMany(f => f.Body.AllNodes()).Select(n => n.Domain))
            .Concat(model.Functions.Select(f => f.Domain))
            .ToHashSet(StringComparer.Ordinal);
        foreach (var domain in touchedDomains)
        {
            if (!used.Contains(domain) && model.OpsetImports.Remove(domain))
            {
                notes.Add($"opset import '{domain}' removed (no node uses it any more)");
            }
        }

        return new PassResult(rewritten > 0) { Counters = counters, Notes = notes };
    }

    private static void Count(SortedDictionary<string, long> counters, string key) => counters[key] = counters.GetValueOrDefault(key) + 1;
}
