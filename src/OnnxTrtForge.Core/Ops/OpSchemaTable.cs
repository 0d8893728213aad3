using System.Collections.Frozen;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Ops;

/// <summary>
/// A read-only table of <see cref="OpSchema"/> entries keyed by (domain, name, opset range), with the opset
/// range forge knows for each domain it has schemas for. <see cref="OpSchemas.Default"/> is the one forge
/// reads; a test builds a variant with <see cref="With"/> to show that a consumer follows the table.
/// </summary>
public sealed class OpSchemaTable
{
    /// <summary>(domain, name) → versions, newest first, each with its <see cref="OpSchema.Until"/> set.</summary>
    private readonly FrozenDictionary<(string Domain, string Name), OpSchema[]> versions;

    public OpSchemaTable(IEnumerable<OpSchema> schemas, IReadOnlyDictionary<string, (long Min, long Max)> domains)
    {
        var grouped = new Dictionary<(string, string), OpSchema[]>();
        foreach (var group in schemas.GroupBy(s => (Normalize(s.Domain), s.Name)))
        {
            var sorted = group.OrderByDescending(s => s.Since).ToArray();
            for (var i = 0; i < sorted.Length; i++)
            {
                if (i > 0 && sorted[i].Since == sorted[i - 1].Since)
                {
                    throw new InvalidOperationException($"op schema {sorted[i]} declared twice");
                }

                sorted[i] = sorted[i] with { Domain = group.Key.Item1, Until = i == 0 ? long.MaxValue : sorted[i - 1].Since };
            }

            grouped[group.Key] = sorted;
        }

        versions = grouped.ToFrozenDictionary();
        Domains = domains.ToFrozenDictionary(kv => Normalize(kv.Key), kv => kv.Value, StringComparer.Ordinal);
        foreach (var key in versions.Keys.Where(k => !Domains.ContainsKey(k.Domain)))
        {
            throw new InvalidOperationException($"op schema {key.Domain}.{key.Name}: domain '{key.Domain}' has no opset range");
        }
    }

    /// <summary>Domain ("" for ai.onnx) → the opset versions forge knows of it.</summary>
    public IReadOnlyDictionary<string, (long Min, long Max)> Domains { get; }

    /// <summary>Every version of every op.</summary>
    public IEnumerable<OpSchema> All => versions.Values.SelectMany(v => v);

    /// <summary>The newest default-domain opset forge's op knowledge covers.</summary>
    public long MaxOnnxOpset => Domains[""].Max;

    public bool Knows(string domain, string name) => versions.ContainsKey((Normalize(domain), name));

    public bool KnowsDomain(string domain) => Domains.ContainsKey(Normalize(domain));

    /// <summary>
    /// The version of the op a model importing <paramref name="opset"/> of its domain uses: 0 or less takes the
    /// newest; an opset older than every listed version takes the oldest (the closest rule known). Null when unknown.
    /// </summary>
    public OpSchema? Find(string domain, string name, long opset)
    {
        if (!versions.TryGetValue((Normalize(domain), name), out var list))
        {
            return null;
        }

        foreach (var schema in list)
        {
            if (opset <= 0 || schema.Since <= opset)
            {
                return schema;
            }
        }

        return list[^1];
    }

    /// <summary>
    /// The schema of a node in a model whose default-domain import is <paramref name="onnxOpset"/>: the version
    /// at that opset for ai.onnx nodes; the newest version for other domains (forge knows one version of each).
    /// </summary>
    public OpSchema? Find(Node node, long onnxOpset) => Find(node.Domain, node.OpType, node.IsOnnxDomain ? onnxOpset : 0);

    /// <summary>The first version of the op (the opset that introduced it), or null when unknown.</summary>
    public OpSchema? FirstVersion(string domain, string name) => versions.TryGetValue((Normalize(domain), name), out var list) ? list[^1] : null;

    /// <summary>A copy with <paramref name="replacement"/> in place of the version with its (domain, name, since).</summary>
    public OpSchemaTable With(OpSchema replacement)
    {
        var key = (Normalize(replacement.Domain), replacement.Name);
        if (!versions.TryGetValue(key, out var list) || list.All(s => s.Since != replacement.Since))
        {
            throw new ArgumentException($"no op schema {replacement} to replace", nameof(replacement));
        }

        return new OpSchemaTable(All.Select(s => (Normalize(s.Domain), s.Name, s.Since) == (key.Item1, key.Name, replacement.Since) ? replacement : s), Domains);
    }

    private static string Normalize(string domain) => domain == "ai.onnx" ? "" : domain;
}
