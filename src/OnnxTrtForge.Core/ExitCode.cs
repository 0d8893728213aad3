namespace OnnxTrtForge.Core;

/// <summary>forge's named exit codes (STYLE.md).</summary>
public static class ExitCode
{
    public const int Ok = 0;
    public const int Unexpected = 1;
    public const int BadInput = 2;
    public const int PassFailed = 3;
    public const int EngineBuildFailed = 4;
    public const int OutOfTolerance = 5;
    public const int Cancelled = 130;
}
