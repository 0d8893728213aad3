namespace OnnxTrtForge.Pipelines.Yaml;

/// <summary>A place in a YAML file: absolute path, 1-based line and column.</summary>
public sealed record SourceMark(string File, long Line, long Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}";
}

/// <summary>
/// A YAML node after <c>use:</c> references are merged and <c>${ENV}</c> is expanded. Every node keeps
/// the file and position it was written at, so an error in a shared config points into that config.
/// </summary>
public abstract record SourceNode(SourceMark Mark)
{
    public abstract string KindName { get; }
}

/// <summary>A scalar. <see cref="IsNull"/> for an empty value, <c>~</c> or <c>null</c> written plain.</summary>
public sealed record ScalarNode(SourceMark Mark, string Value, bool Plain) : SourceNode(Mark)
{
    public bool IsNull => Plain && Value is "" or "~" or "null" or "Null" or "NULL";

    public override string KindName => IsNull ? "null" : "a scalar";
}

public sealed record MappingNode(SourceMark Mark, IReadOnlyList<KeyValuePair<ScalarNode, SourceNode>> Entries) : SourceNode(Mark)
{
    public override string KindName => "a mapping";

    public SourceNode? this[string key] => Entries.FirstOrDefault(e => e.Key.Value == key).Value;
}

public sealed record SequenceNode(SourceMark Mark, IReadOnlyList<SourceNode> Items) : SourceNode(Mark)
{
    public override string KindName => "a list";
}
