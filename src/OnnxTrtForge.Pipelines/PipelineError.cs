using OnnxTrtForge.Core;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Pipelines.Yaml;

namespace OnnxTrtForge.Pipelines;

/// <summary>One problem in a pipeline file (or a config it uses), with the place it was written.</summary>
public sealed record PipelineError(SourceMark Where, string Message)
{
    public override string ToString() => $"{Where}: {Message}";
}

/// <summary>
/// A pipeline that must not run: every problem found, each with file, line and column. Nothing ran
/// before it was thrown. The command prints one line per error and exits 2.
/// </summary>
public sealed class PipelineValidationException : ForgeException
{
    public PipelineValidationException(IReadOnlyList<PipelineError> errors)
        : base(Core.ExitCode.BadInput, errors.Count == 1 ? errors[0].ToString() : $"{errors.Count} errors in pipeline:{Environment.NewLine}" + string.Join(Environment.NewLine, errors))
    {
        Errors = errors;
    }

    public PipelineValidationException()
        : this([])
    {
    }

    public PipelineValidationException(string message)
        : base(Core.ExitCode.BadInput, message)
    {
        Errors = [];
    }

    public PipelineValidationException(string message, Exception inner)
        : base(Core.ExitCode.BadInput, message, inner)
    {
        Errors = [];
    }

    public IReadOnlyList<PipelineError> Errors { get; }
}
