namespace OnnxTrtForge.Core.Serialization;

/// <summary>Where the writer puts initializer payloads.</summary>
public enum ExternalDataMode
{
    /// <summary>Embedded below the 2 GiB protobuf limit, one external .data file above it.</summary>
    Auto,

    /// <summary>Every initializer of at least <see cref="SaveOptions.ExternalThreshold"/> bytes goes to the .data file.</summary>
    Always,

    /// <summary>Everything embedded in the .onnx file.</summary>
    Never,
}

public sealed record SaveOptions
{
    public ExternalDataMode ExternalData { get; init; } = ExternalDataMode.Auto;

    /// <summary>Smaller initializers stay embedded even when writing external data.</summary>
    public long ExternalThreshold { get; init; } = 1024;

    /// <summary>Alignment of each payload in the .data file.</summary>
    public int Alignment { get; init; } = 4096;

    /// <summary>Above this many weight bytes, Auto writes external data (protobuf's 2 GiB limit, with room for the graph).</summary>
    public long AutoLimit { get; init; } = int.MaxValue - (64L << 20);

    /// <summary>Told the weight bytes written so far after each large initializer (a command shows it; null: silent).</summary>
    public IProgress<long>? Progress { get; init; }
}

/// <summary>What a save wrote.</summary>
public sealed record SaveResult(string ModelPath, string? DataPath, long ModelBytes, long DataBytes, int ExternalTensors);
