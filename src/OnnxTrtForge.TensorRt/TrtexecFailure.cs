using System.Text.RegularExpressions;

namespace OnnxTrtForge.TensorRt;

/// <summary>Why a trtexec run failed.</summary>
public enum FailureKind
{
    UnknownOption,
    OutOfMemory,
    NoImplementation,
    UnsupportedOp,
    ParserError,
    Timeout,
    Cancelled,
    NoEngineWritten,
    Failed,
}

/// <summary>A classified failure: the kind, one line that says what and where, and the node/op/option it names.</summary>
public sealed record FailureReason(FailureKind Kind, string Message)
{
    public string? Node { get; init; }

    public string? Op { get; init; }

    public string? Option { get; init; }
}

/// <summary>Classifies a failed run from its log lines (unknown option, out of memory, no implementation, unsupported op, parser error).</summary>
public static partial class TrtexecFailure
{
    public static FailureReason Classify(IEnumerable<string> lines, int exitCode)
    {
        string? unknownOption = null, noImplNode = null, unsupportedOp = null, oomLine = null, parserLine = null, lastError = null;
        string? parsedNode = null, parsedOp = null, namedNode = null;
        var insufficientWorkspace = false;
        var pluginNotFound = false;
        foreach (var raw in lines)
        {
            var line = TrtexecLog.Strip(raw);
            if (unknownOption is null && UnknownOption().Match(line) is { Success: true } u)
            {
                unknownOption = u.Groups[1].Value.Trim();
            }

            if (noImplNode is null && NoImplementation().Match(line) is { Success: true } n)
            {
                noImplNode = n.Groups[1].Value.Trim().TrimEnd('.', ')');
                insufficientWorkspace = line.Contains("insufficient", StringComparison.OrdinalIgnoreCase);
            }

            if (unsupportedOp is null && NoImporter().Match(line) is { Success: true } op)
            {
                unsupportedOp = op.Groups[1].Value.Trim().TrimEnd('.');
            }

            pluginNotFound |= PluginNotFound().IsMatch(line);
            if (oomLine is null && TrtexecLog.Severity(raw) is not ('W' or 'I' or 'V') && OutOfMemory().IsMatch(line))
            {
                oomLine = line;
            }

            if (WhileParsing().Match(line) is { Success: true } wp)
            {
                parsedOp ??= wp.Groups[1].Value;
                parsedNode ??= wp.Groups[2].Value;
                parserLine ??= line;
            }

            if (InNodeNamed().Match(line) is { Success: true } nn)
            {
                namedNode ??= (nn.Groups[1].Success ? nn.Groups[1].Value : nn.Groups[3].Value).Trim();
                parsedOp ??= nn.Groups[2].Success ? nn.Groups[2].Value : null;
                parserLine ??= line;
            }

            if (namedNode is null && parserLine is not null && NodeDumpName().Match(line) is { Success: true } dn)
            {
                namedNode = dn.Groups[1].Value;
            }

            if (parserLine is null && ParserFailure().IsMatch(line))
            {
                parserLine = line;
            }

            if (TrtexecLog.Severity(raw) == 'E' || line.StartsWith("ERROR", StringComparison.Ordinal))
            {
                lastError = line;
            }
        }

        var node = namedNode ?? parsedNode;
        if (unknownOption is not null)
        {
            return new FailureReason(FailureKind.UnknownOption, $"trtexec rejected an unknown option: {unknownOption}") { Option = unknownOption.Split(' ')[0] };
        }

        if (unsupportedOp is null && pluginNotFound && parsedOp is not null)
        {
            unsupportedOp = parsedOp;
        }

        if (unsupportedOp is not null)
        {
            return new FailureReason(FailureKind.UnsupportedOp, $"TensorRT has no importer for op {unsupportedOp}" + (node is null ? "" : $" (node {node})"))
            {
                Op = unsupportedOp,
                Node = node,
            };
        }

        if (noImplNode is not null)
        {
            return new FailureReason(FailureKind.NoImplementation, $"TensorRT found no implementation for node {noImplNode}" + (insufficientWorkspace ? " (insufficient workspace: try a larger --workspace)" : "")) { Node = noImplNode };
        }

        if (oomLine is not null)
        {
            return new FailureReason(FailureKind.OutOfMemory, "out of memory: " + oomLine);
        }

        if (parserLine is not null)
        {
            return new FailureReason(FailureKind.ParserError, "the ONNX parser failed" + (node is null ? "" : $" at node {node}") + (parsedOp is null ? "" : $" ({parsedOp})") + ": " + (lastError ?? parserLine))
            {
                Node = node,
                Op = parsedOp,
            };
        }

        return new FailureReason(FailureKind.Failed, $"trtexec failed with exit code {exitCode}" + (lastError is null ? "" : ": " + lastError));
    }

    [GeneratedRegex(@"Unknown option:\s*(\S+(?:\s+\S+)?)")]
    private static partial Regex UnknownOption();

    [GeneratedRegex(@"Could not find any implementation for node\s+(\{[^}]*\}|\S+)", RegexOptions.IgnoreCase)]
    private static partial Regex NoImplementation();

    [GeneratedRegex(@"No importer registered for op:\s*([A-Za-z0-9_.:\-]+)")]
    private static partial Regex NoImporter();

    [GeneratedRegex(@"out of memory|OutOfMemory|CUDA_ERROR_OUT_OF_MEMORY|cudaErrorMemoryAllocation|could not be allocated|std::bad_alloc|failed to allocate|allocation failed|insufficient memory", RegexOptions.IgnoreCase)]
    private static partial Regex OutOfMemory();

    [GeneratedRegex(@"While parsing node number \d+ \[([^\s\]]+)(?: -> ""([^""]*)"")?\]")]
    private static partial Regex WhileParsing();

    [GeneratedRegex(@"In node -?\d+ with name:\s*(.+?)\s+and operator:\s*([^\s(]+)|Invalid Node - (\S+)")]
    private static partial Regex InNodeNamed();

    [GeneratedRegex(@"(?:^|\s)name:\s*""([^""]+)""")]
    private static partial Regex NodeDumpName();

    [GeneratedRegex(@"Plugin not found|FallbackPluginImporter", RegexOptions.IgnoreCase)]
    private static partial Regex PluginNotFound();

    [GeneratedRegex(@"Failed to parse onnx file|Failed to parse ONNX|ModelImporter\.cpp|onnx parser|Parsing failed", RegexOptions.IgnoreCase)]
    private static partial Regex ParserFailure();
}
