namespace OnnxTrtForge.Core.Ir;

/// <summary>
/// An expected failure caused by the user's input: a corrupt or inconsistent model, a bad path, a bad
/// option. The message is one line that names the file and the place.
/// </summary>
public sealed class ForgeInputException : Exception
{
    public ForgeInputException(string message)
        : base(message)
    {
    }

    public ForgeInputException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>A graph pass left the model invalid or could not do its work.</summary>
public sealed class PassFailedException : Exception
{
    public PassFailedException(string message)
        : base(message)
    {
    }

    public PassFailedException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
