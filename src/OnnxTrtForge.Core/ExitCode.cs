namespace OnnxTrtForge.Core;

/// <summary>
/// forge's named exit codes (CONTRIBUTING.md), the same for every command. Expected failures carry theirs in a
/// <see cref="Ir.ForgeException"/>; Program.cs maps everything else in one place.
/// </summary>
public static class ExitCode
{
    public const int Ok = 0;
    public const int Unexpected = 1;
    public const int BadInput = 2;
    public const int PassFailed = 3;
    public const int EngineBuildFailed = 4;
    public const int OutOfTolerance = 5;
    public const int Cancelled = 130;

    /// <summary>Stopped by SIGTERM (128 + 15), as shells report it.</summary>
    public const int Terminated = 143;

    /// <summary>The table printed in help and the README, one line per code.</summary>
    public static IReadOnlyList<(int Code, string Meaning)> Table { get; } =
    [
        (Ok, "ok"),
        (Unexpected, "unexpected error (a bug: run again with --verbose and report it)"),
        (BadInput, "bad input or configuration (usage, file, model, YAML)"),
        (PassFailed, "an optimizer pass failed"),
        (EngineBuildFailed, "TensorRT engine build failed"),
        (OutOfTolerance, "validation failed: out of tolerance, or the candidate could not be run"),
        (Cancelled, "cancelled (Ctrl+C, SIGINT)"),
        (Terminated, "terminated (SIGTERM)"),
    ];
}
