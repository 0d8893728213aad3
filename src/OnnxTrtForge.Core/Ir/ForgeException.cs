namespace OnnxTrtForge.Core.Ir;

/// <summary>
/// Every expected failure: a one-line message that says what and where, and the exit code it ends forge with.
/// Program.cs maps it to the process exit in one place; anything else is unexpected (exit 1).
/// </summary>
public abstract class ForgeException : Exception
{
    protected ForgeException(int exitCode, string message, Exception? inner = null)
        : base(message, inner)
    {
        ExitCode = exitCode;
    }

    public int ExitCode { get; }

    /// <summary>What Program.cs prints before the message ("error", "pass failed", ...).</summary>
    public virtual string Label => "error";
}

/// <summary>
/// An expected failure caused by the user's input: a corrupt or inconsistent model, a bad path, a bad
/// option. The message is one line that names the file and the place. Exit 2.
/// </summary>
public sealed class ForgeInputException : ForgeException
{
    public ForgeInputException(string message)
        : base(Core.ExitCode.BadInput, message)
    {
    }

    public ForgeInputException(string message, Exception inner)
        : base(Core.ExitCode.BadInput, message, inner)
    {
    }
}

/// <summary>A graph pass left the model invalid or could not do its work. Exit 3.</summary>
public sealed class PassFailedException : ForgeException
{
    public PassFailedException(string message)
        : base(Core.ExitCode.PassFailed, message)
    {
    }

    public PassFailedException(string message, Exception inner)
        : base(Core.ExitCode.PassFailed, message, inner)
    {
    }

    public override string Label => "pass failed";
}
