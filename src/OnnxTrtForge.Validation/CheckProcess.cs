using System.Text.Json;
using System.Text.Json.Serialization;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Validation;

/// <summary>What the parent asks the check process: both models (paths as the user gave them), the options, and where to write the answer.</summary>
public sealed record CheckRequest(string Original, string Optimized, OptimizeCheckOptions Options, string Response);

/// <summary>An expected failure in the check process: which exception, its exit code and its one-line message.</summary>
public sealed record CheckError(string Kind, int ExitCode, string Message);

/// <summary>The check process's answer: a result, or the error it ended with.</summary>
public sealed record CheckResponse(OptimizeCheckResult? Result, CheckError? Error);

/// <summary>
/// The check process's side of <see cref="ChildProcessCheckRunner"/>: <c>forge __check REQUEST.json</c> reads a
/// <see cref="CheckRequest"/>, runs <see cref="OptimizeCheck.Run"/> reporting each <see cref="CheckPhase"/> as it
/// begins (one <see cref="PhasePrefix"/> line on stderr, written before ONNX Runtime starts the step), and writes a
/// <see cref="CheckResponse"/> to the request's response path. A process that exits without a response died inside
/// ONNX Runtime, in the last phase it reported.
/// </summary>
public static class CheckProcess
{
    /// <summary>The hidden command of the forge executable that serves one request.</summary>
    public const string CommandName = "__check";

    /// <summary>How a phase line on the check process's stderr begins.</summary>
    public const string PhasePrefix = "forge-check-phase: ";

    private const string InputKind = "input";
    private const string PassFailedKind = "pass-failed";

    public static string PhaseLine(CheckPhase phase) => PhasePrefix + phase.Name();

    public static bool TryParsePhaseLine(string line, out CheckPhase phase)
    {
        phase = default;
        return line.StartsWith(PhasePrefix, StringComparison.Ordinal) && CheckPhases.TryParse(line[PhasePrefix.Length..].Trim(), out phase);
    }

    /// <summary>Serves the request at <paramref name="requestPath"/>; returns the exit code the process ends with (0, or the failure's).</summary>
    public static int Serve(string requestPath, IProgress<CheckPhase> phases, CancellationToken cancellationToken = default)
    {
        var request = JsonSerializer.Deserialize(File.ReadAllText(requestPath), CheckProcessJson.Default.CheckRequest)
            ?? throw new ForgeInputException($"{requestPath}: not a check request");
        CheckResponse response;
        try
        {
            response = new CheckResponse(OptimizeCheck.Run(request.Original, request.Optimized, request.Options, phases, cancellationToken), null);
        }
        catch (ForgeException e) when (e is ForgeInputException or PassFailedException)
        {
            response = new CheckResponse(null, new CheckError(e is ForgeInputException ? InputKind : PassFailedKind, e.ExitCode, e.Message));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // a fault of forge's own: exit 1 in the parent as in process, with the type and message it had here
            response = new CheckResponse(null, new CheckError(e.GetType().Name, Core.ExitCode.Unexpected, e.Message));
        }

        File.WriteAllText(request.Response, Serialize(response));
        return response.Error?.ExitCode ?? 0;
    }

    public static string Serialize(CheckResponse response) => JsonSerializer.Serialize(response, CheckProcessJson.Default.CheckResponse);

    public static CheckResponse? Deserialize(string json) => JsonSerializer.Deserialize(json, CheckProcessJson.Default.CheckResponse);

    /// <summary>
    /// The exception the check process ended with, to throw in the parent: an expected failure as the same type with
    /// the same message (and so the same exit code); anything else as an unexpected error naming the original type.
    /// </summary>
    public static Exception Rethrow(CheckError error) => error.Kind switch
    {
        InputKind => new ForgeInputException(error.Message),
        PassFailedKind => new PassFailedException(error.Message),
        _ => new InvalidOperationException($"{error.Kind} in the check process: {error.Message}"),
    };
}

/// <summary>
/// The check process's JSON, source-generated (trim-safe). Fields are included so that the tuple
/// <see cref="OutputCheck.NonFiniteCounts"/> survives the trip; non-finite figures are written as named literals.
/// </summary>
[JsonSourceGenerationOptions(IncludeFields = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, UseStringEnumConverter = true)]
[JsonSerializable(typeof(CheckRequest))]
[JsonSerializable(typeof(CheckResponse))]
public sealed partial class CheckProcessJson : JsonSerializerContext;
