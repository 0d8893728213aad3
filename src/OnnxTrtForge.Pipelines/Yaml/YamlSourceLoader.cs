using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace OnnxTrtForge.Pipelines.Yaml;

/// <summary>
/// Reads YAML files into <see cref="SourceNode"/> trees with positions, expands <c>${NAME}</c> and
/// <c>${NAME:-default}</c> in scalar values (<c>$$</c> is a literal <c>$</c>), and replaces every mapping
/// that has a <c>use: FILE#dotted.key</c> entry by the referenced node, with the mapping's other keys
/// laid over it. Problems are collected, never thrown, so one run reports all of them.
/// Hostile input is bounded: only regular files of at most <see cref="MaxFileBytes"/> are read (a FIFO or
/// device never blocks the run), nesting stops at <see cref="MaxDepth"/>, a document whose aliases would
/// expand past <see cref="MaxNodes"/> nodes is refused, and so are more than <see cref="MaxUses"/>
/// <c>use:</c> expansions or resolved trees past <see cref="MaxNodes"/>; each is one error at file:line:col.
/// </summary>
public sealed partial class YamlSourceLoader
{
    public const string UseKey = "use";

    /// <summary>The largest pipeline or config file read.</summary>
    public const long MaxFileBytes = 1 << 20;

    /// <summary>The deepest nesting of mappings and lists.</summary>
    public const int MaxDepth = 64;

    /// <summary>The most nodes a document may expand to, aliases counted at every use, and the most nodes resolving may produce.</summary>
    public const long MaxNodes = 100_000;

    /// <summary>The most <c>use:</c> references expanded in one load, and the deepest chain of them.</summary>
    public const int MaxUses = 1_000;

    public const int MaxUseDepth = 32;

    private readonly Dictionary<SourceNode, long> _sizes = new(ReferenceEqualityComparer.Instance);
    private int _uses;
    private long _resolved;
    private bool _resolveLimitReported;
    private bool _expansionReported;

    private readonly Func<string, string?> _environment;
    private readonly List<PipelineError> _errors;
    private readonly Dictionary<string, SourceNode?> _files = new(StringComparer.Ordinal);
    private SourceMark? _last;

    public YamlSourceLoader(Func<string, string?> environment, List<PipelineError> errors)
    {
        _environment = environment;
        _errors = errors;
    }

    /// <summary>Config files read while resolving references, in the order they were first used.</summary>
    public IReadOnlyList<string> FilesRead => [.. _files.Keys];

    /// <summary>Loads <paramref name="path"/> and resolves its references; null when it cannot be parsed at all.</summary>
    public SourceNode? Load(string path)
    {
        var full = Path.GetFullPath(path);
        var root = LoadRaw(full, null);
        return root is null ? null : Resolve(root, [full + "#"]);
    }

    private SourceNode? LoadRaw(string file, SourceMark? usedAt)
    {
        if (_files.TryGetValue(file, out var cached))
        {
            return cached;
        }

        _files[file] = null;
        string text;
        try
        {
            var what = usedAt is null ? "the pipeline file" : $"config file {file}";
            var kind = Core.Serialization.FilePaths.KindOf(file);
            if (kind != Core.Serialization.FileKind.Regular)
            {
                _errors.Add(new PipelineError(usedAt ?? new SourceMark(file, 1, 1), $"{what} is {(kind == Core.Serialization.FileKind.Directory ? "a folder" : kind == Core.Serialization.FileKind.Missing ? "missing" : "not a regular file (a FIFO or device)")}; only regular files are read"));
                return null;
            }

            var length = new FileInfo(file).Length;
            if (length > MaxFileBytes)
            {
                _errors.Add(new PipelineError(usedAt ?? new SourceMark(file, 1, 1), $"{what} is {length} bytes; pipeline and config files are limited to {MaxFileBytes} bytes"));
                return null;
            }

            text = File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _errors.Add(new PipelineError(usedAt ?? new SourceMark(file, 1, 1), usedAt is null
                ? $"cannot read the pipeline file: {e.Message}"
                : $"cannot read config file {file}: {e.Message}"));
            return null;
        }

        var node = Parse(file, text);
        _files[file] = node;
        return node;
    }

    private SourceNode? Parse(string file, string text)
    {
        // the YAML scanner slows down quadratically with flow nesting ([[[[...), so depth is checked before it runs
        if (FlowDepthBeyondLimit(text) is var (line, column))
        {
            _errors.Add(new PipelineError(new SourceMark(file, line, column), $"nesting deeper than {MaxDepth} levels"));
            return null;
        }

        var anchors = new Dictionary<string, SourceNode>(StringComparer.Ordinal);
        try
        {
            var parser = new Parser(new StringReader(text));
            parser.Consume<StreamStart>();
            if (!parser.TryConsume<DocumentStart>(out _))
            {
                _errors.Add(new PipelineError(new SourceMark(file, 1, 1), "the file is empty: expected a mapping"));
                return null;
            }

            var root = ReadNode(parser, file, anchors, 0);
            parser.Consume<DocumentEnd>();
            if (parser.Accept<DocumentStart>(out var second))
            {
                _errors.Add(new PipelineError(Mark(file, second.Start), "a pipeline file holds one YAML document; remove the second"));
            }

            return root;
        }
        catch (YamlException e)
        {
            _errors.Add(new PipelineError(Mark(file, e.Start), "YAML syntax: " + FirstLine(e.Message)));
            return null;
        }
        catch (InvalidOperationException e)
        {
            // The scanner gives up on some unterminated flow collections without a position.
            _errors.Add(new PipelineError(_last ?? new SourceMark(file, 1, 1), "YAML syntax: the document ends inside an unterminated [ ] or { } after this place (" + e.Message + ")"));
            return null;
        }
    }

    private SourceNode ReadNode(IParser parser, string file, Dictionary<string, SourceNode> anchors, int depth)
    {
        var current = parser.Current ?? throw new YamlException("unexpected end of the document");
        _last = Mark(file, current.Start);
        if (depth > MaxDepth && current is SequenceStart or MappingStart)
        {
            _errors.Add(new PipelineError(_last, $"nesting deeper than {MaxDepth} levels"));
            parser.SkipThisAndNestedEvents();
            return Sized(new ScalarNode(_last, "", true), 1);
        }

        parser.MoveNext();
        SourceNode node;
        switch (current)
        {
            case AnchorAlias alias:
                if (anchors.TryGetValue(alias.Value.Value, out var target))
                {
                    // an alias is a second reference to the same node; its size counts again at every use
                    return target;
                }

                throw new YamlException(alias.Start, alias.End, $"unknown alias *{alias.Value.Value}");
            case Scalar scalar:
                node = Sized(new ScalarNode(Mark(file, scalar.Start), Expand(scalar.Value, Mark(file, scalar.Start)), scalar.Style == ScalarStyle.Plain && scalar.Tag.IsEmpty), 1);
                Remember(scalar.Anchor, node);
                return node;
            case SequenceStart start:
            {
                var items = new List<SourceNode>();
                while (!parser.TryConsume<SequenceEnd>(out _))
                {
                    items.Add(ReadNode(parser, file, anchors, depth + 1));
                }

                node = Bounded(new SequenceNode(Mark(file, start.Start), items), items);
                Remember(start.Anchor, node);
                return node;
            }

            case MappingStart start:
            {
                var entries = new List<KeyValuePair<ScalarNode, SourceNode>>();
                var seen = new HashSet<string>(StringComparer.Ordinal);
                while (!parser.TryConsume<MappingEnd>(out _))
                {
                    var key = ReadNode(parser, file, anchors, depth + 1);
                    var value = ReadNode(parser, file, anchors, depth + 1);
                    if (key is not ScalarNode scalarKey)
                    {
                        _errors.Add(new PipelineError(key.Mark, $"a key must be a plain name, not {key.KindName}"));
                        continue;
                    }

                    if (scalarKey.Value == "<<")
                    {
                        _errors.Add(new PipelineError(key.Mark, "YAML merge keys (<<) are not supported; use `use: FILE#key` to share settings"));
                        continue;
                    }

                    if (!seen.Add(scalarKey.Value))
                    {
                        _errors.Add(new PipelineError(key.Mark, $"duplicate key '{scalarKey.Value}'"));
                        continue;
                    }

                    entries.Add(new(scalarKey, value));
                }

                node = Bounded(new MappingNode(Mark(file, start.Start), entries), entries.SelectMany(e => new SourceNode[] { e.Key, e.Value }));
                Remember(start.Anchor, node);
                return node;
            }

            default:
                throw new YamlException(current.Start, current.End, $"unexpected {current.GetType().Name}");
        }

        void Remember(AnchorName anchor, SourceNode n)
        {
            if (!anchor.IsEmpty)
            {
                anchors[anchor.Value] = n;
            }
        }
    }

    /// <summary>
    /// Where the nesting of flow collections (<c>[ ]</c>, <c>{ }</c>) first goes past <see cref="MaxDepth"/>, or null.
    /// Quoted scalars and comments are skipped; a quote counts as one only where a scalar can begin.
    /// </summary>
    private static (int Line, int Column)? FlowDepthBeyondLimit(string text)
    {
        int depth = 0, line = 1, column = 0;
        var previous = '\n';
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            column++;
            if (c == '\n')
            {
                line++;
                column = 0;
                previous = c;
                continue;
            }

            var scalarStart = previous is '\n' or ' ' or '\t' or '[' or '{' or ',' or ':' or '-';
            if (c == '#' && previous is '\n' or ' ' or '\t')
            {
                while (i + 1 < text.Length && text[i + 1] != '\n')
                {
                    i++;
                }

                continue;
            }

            if (c is '"' or '\'' && scalarStart)
            {
                // skip to the closing quote ('' and \" are escapes); a newline inside keeps the line count right
                for (i++; i < text.Length; i++)
                {
                    column++;
                    if (text[i] == '\n')
                    {
                        line++;
                        column = 0;
                    }
                    else if (c == '"' && text[i] == '\\')
                    {
                        i++;
                        column++;
                    }
                    else if (text[i] == c)
                    {
                        if (c == '\'' && i + 1 < text.Length && text[i + 1] == '\'')
                        {
                            i++;
                            column++;
                            continue;
                        }

                        break;
                    }
                }

                previous = c;
                continue;
            }

            if (c is '[' or '{' && ++depth > MaxDepth)
            {
                return (line, column);
            }

            if (c is ']' or '}')
            {
                depth = Math.Max(0, depth - 1);
            }

            previous = c;
        }

        return null;
    }

    private SourceNode Sized(SourceNode node, long size)
    {
        _sizes[node] = size;
        return node;
    }

    /// <summary>A collection's size is one plus its children's, aliases included; past <see cref="MaxNodes"/> it is refused here.</summary>
    private SourceNode Bounded(SourceNode node, IEnumerable<SourceNode> children)
    {
        long size = 1;
        foreach (var child in children)
        {
            size = Math.Min(size + _sizes.GetValueOrDefault(child, 1), long.MaxValue / 2);
        }

        if (size > MaxNodes)
        {
            if (_expansionReported)
            {
                return Sized(new ScalarNode(node.Mark, "", true), 1);
            }

            _expansionReported = true;
            _errors.Add(new PipelineError(node.Mark, $"this {(node is SequenceNode ? "list" : "mapping")} expands to more than {MaxNodes} nodes (aliases counted at each use)"));
            return Sized(new ScalarNode(node.Mark, "", true), 1);
        }

        return Sized(node, size);
    }

    private SourceNode Resolve(SourceNode node, List<string> stack)
    {
        if (++_resolved > MaxNodes)
        {
            if (!_resolveLimitReported)
            {
                _resolveLimitReported = true;
                _errors.Add(new PipelineError(node.Mark, $"resolving `use:` references produces more than {MaxNodes} nodes"));
            }

            return node;
        }

        switch (node)
        {
            case SequenceNode seq:
                return seq with { Items = [.. seq.Items.Select(i => Resolve(i, stack))] };
            case MappingNode map:
            {
                var use = map.Entries.FirstOrDefault(e => e.Key.Value == UseKey);
                var others = map.Entries.Where(e => e.Key.Value != UseKey)
                    .Select(e => new KeyValuePair<ScalarNode, SourceNode>(e.Key, Resolve(e.Value, stack))).ToList();
                if (use.Key is null)
                {
                    return map with { Entries = others };
                }

                var referenced = Reference(use.Value, stack);
                if (referenced is null)
                {
                    return map with { Entries = others };
                }

                if (others.Count == 0)
                {
                    return referenced;
                }

                if (referenced is not MappingNode baseMap)
                {
                    _errors.Add(new PipelineError(use.Value.Mark, $"`use:` refers to {referenced.KindName} ({referenced.Mark}); keys beside `use:` can only override a mapping"));
                    return map with { Entries = others };
                }

                var overridden = others.Select(o => o.Key.Value).ToHashSet(StringComparer.Ordinal);
                return new MappingNode(map.Mark, [.. baseMap.Entries.Where(e => !overridden.Contains(e.Key.Value)), .. others]);
            }

            default:
                return node;
        }
    }

    private SourceNode? Reference(SourceNode useValue, List<string> stack)
    {
        if (useValue is not ScalarNode { IsNull: false } scalar)
        {
            _errors.Add(new PipelineError(useValue.Mark, "`use:` takes a reference FILE#dotted.key (for example configs/sd14.yaml#profiles.unet)"));
            return null;
        }

        var text = scalar.Value.Trim();
        var hash = text.IndexOf('#', StringComparison.Ordinal);
        var filePart = hash < 0 ? text : text[..hash];
        var fragment = hash < 0 ? "" : text[(hash + 1)..];
        var file = filePart.Length == 0 ? scalar.Mark.File : PathText.Resolve(filePart, Path.GetDirectoryName(scalar.Mark.File)!);
        if (!File.Exists(file))
        {
            _errors.Add(new PipelineError(scalar.Mark, $"`use:` refers to {file}, which does not exist"));
            return null;
        }

        if (++_uses > MaxUses || stack.Count >= MaxUseDepth)
        {
            if (_uses > MaxUses + 1)
            {
                return null;
            }

            _errors.Add(new PipelineError(scalar.Mark, _uses > MaxUses
                ? $"more than {MaxUses} `use:` references expanded; a chain of references multiplies (each use is expanded again)"
                : $"`use:` references nest deeper than {MaxUseDepth} levels"));
            return null;
        }

        var key = file + "#" + fragment;
        if (stack.Contains(key))
        {
            _errors.Add(new PipelineError(scalar.Mark, "`use:` references form a cycle: " + string.Join(" → ", stack.Append(key))));
            return null;
        }

        var root = LoadRaw(file, scalar.Mark);
        if (root is null)
        {
            return null;
        }

        var node = root;
        var walked = new List<string>();
        foreach (var part in fragment.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            if (node is not MappingNode map)
            {
                _errors.Add(new PipelineError(scalar.Mark, $"`use: {text}`: '{string.Join('.', walked)}' in {file} is {node.KindName}, not a mapping"));
                return null;
            }

            var next = map[part];
            if (next is null)
            {
                var known = string.Join(", ", map.Entries.Select(e => e.Key.Value));
                _errors.Add(new PipelineError(scalar.Mark, $"`use: {text}`: {file} has no key '{string.Join('.', walked.Append(part))}' (keys there: {known})"));
                return null;
            }

            walked.Add(part);
            node = next;
        }

        stack.Add(key);
        try
        {
            return Resolve(node, stack);
        }
        finally
        {
            stack.RemoveAt(stack.Count - 1);
        }
    }

    private string Expand(string value, SourceMark mark)
    {
        if (!value.Contains('$', StringComparison.Ordinal))
        {
            return value;
        }

        var result = new StringBuilder();
        var i = 0;
        while (i < value.Length)
        {
            var c = value[i];
            if (c != '$' || i + 1 >= value.Length)
            {
                result.Append(c);
                i++;
                continue;
            }

            if (value[i + 1] == '$')
            {
                result.Append('$');
                i += 2;
                continue;
            }

            if (value[i + 1] != '{')
            {
                result.Append(c);
                i++;
                continue;
            }

            var close = value.IndexOf('}', i + 2);
            var match = close < 0 ? null : VariablePattern().Match(value[(i + 2)..close]);
            if (match is null || !match.Success)
            {
                _errors.Add(new PipelineError(mark, $"malformed variable reference in '{value}': write ${{NAME}} or ${{NAME:-default}} ($$ for a literal $)"));
                return value;
            }

            var name = match.Groups["name"].Value;
            var set = _environment(name);
            if (string.IsNullOrEmpty(set))
            {
                if (match.Groups["default"].Success)
                {
                    set = match.Groups["default"].Value;
                }
                else
                {
                    _errors.Add(new PipelineError(mark, $"environment variable {name} is not set (write ${{{name}:-default}} to give a default)"));
                    set = "";
                }
            }

            result.Append(set);
            i = close + 1;
        }

        return result.ToString();
    }

    private static SourceMark Mark(string file, Mark mark) => new(file, mark.Line, mark.Column);

    private static string FirstLine(string message)
    {
        var cut = message.IndexOfAny(['\r', '\n']);
        return cut < 0 ? message : message[..cut];
    }

    [GeneratedRegex(@"^(?<name>[A-Za-z_][A-Za-z0-9_]*)(:-(?<default>.*))?$", RegexOptions.CultureInvariant)]
    private static partial Regex VariablePattern();
}
