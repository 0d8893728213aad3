using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Passes;

/// <summary>
/// A graph pass: one sealed class per file, a kebab-case <see cref="Name"/>, no I/O, deterministic;
/// mutates the model in place through the IR API and says what it did.
/// </summary>
public interface IGraphPass
{
    string Name { get; }

    PassResult Run(Model model);
}

/// <summary>What a pass did: whether it changed the model, named counters, and notes for the report.</summary>
public sealed record PassResult(bool Modified)
{
    public IReadOnlyDictionary<string, long> Counters { get; init; } = new Dictionary<string, long>();

    public IReadOnlyList<string> Notes { get; init; } = [];

    public static PassResult Unchanged { get; } = new(false);
}
