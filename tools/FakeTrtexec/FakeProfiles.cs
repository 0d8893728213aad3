using OnnxTrtForge.Core.Ir;

namespace FakeTrtexec;

/// <summary>One network input's optimization profile 0, as the stand-in resolved it at build time.</summary>
internal sealed record FakeProfile(string Name, long[] Min, long[] Opt, long[] Max)
{
    private const string Prefix = "profile: ";

    /// <summary>The engine header line: <c>profile: name\tMIN\tOPT\tMAX</c> (tabs, so names may hold ':' or ',').</summary>
    public string HeaderLine() => Prefix + string.Join('\t', Name, X(Min), X(Opt), X(Max));

    public static FakeProfile? FromHeaderLine(string line)
    {
        if (!line.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var parts = line[Prefix.Length..].Split('\t');
        return parts.Length == 4 ? new FakeProfile(parts[0], Parse(parts[1]), Parse(parts[2]), Parse(parts[3])) : null;
    }

    public static string X(IEnumerable<long> dims) => string.Join('x', dims);

    private static long[] Parse(string text) => text.Length == 0 ? [] : FakeOptions.Dims(text);
}

/// <summary>
/// What trtexec and TensorRT's builder do with <c>--minShapes/--optShapes/--maxShapes</c> against the network's
/// inputs: a shape given for only some of min/opt/max fills the others (opt from max or min, min and max from
/// opt); a dynamic input without shapes is built for size 1 with trtexec's warning; a rank mismatch, an unordered
/// min/opt/max or a fixed dimension given another size fails the build (wording modelled on TensorRT 8.6/10's
/// network validation; the exact text varies between versions). At inference, <c>--shapes</c> must lie inside the
/// profile, as <c>IExecutionContext::setInputShape</c> demands; without it the opt shape is used.
/// </summary>
internal static class FakeProfiles
{
    public static List<FakeProfile> Resolve(Graph graph, FakeOptions options, FakeLog log)
    {
        var min = FakeOptions.NameValueList(options.Get("minShapes"));
        var opt = FakeOptions.NameValueList(options.Get("optShapes"));
        var max = FakeOptions.NameValueList(options.Get("maxShapes"));
        var result = new List<FakeProfile>();
        foreach (var input in graph.Inputs.Where(v => !v.IsInitializer))
        {
            var shape = input.Type?.Shape ?? [];
            var given = (Min: Get(min, input.Name), Opt: Get(opt, input.Name), Max: Get(max, input.Name));
            if (given is { Min: null, Opt: null, Max: null })
            {
                var dims = shape.Select(d => d.Value ?? 1).ToArray();
                if (shape.Any(d => !d.IsKnown))
                {
                    log.Warning($"Dynamic dimensions required for input: {input.Name}, but no shapes were given. Automatically overriding shape to: {FakeProfile.X(dims)}");
                }

                result.Add(new FakeProfile(input.Name, dims, dims, dims));
                continue;
            }

            var o = given.Opt ?? given.Max ?? given.Min!;
            var p = new FakeProfile(input.Name, given.Min ?? o, o, given.Max ?? o);
            if (p.Min.Length != shape.Count || p.Opt.Length != shape.Count || p.Max.Length != shape.Count)
            {
                BuildError($"{input.Name}: number of dimensions in profile 0 (min {p.Min.Length}, opt {p.Opt.Length}, max {p.Max.Length}) does not match network definition ({shape.Count}).", log);
            }

            for (var i = 0; i < shape.Count; i++)
            {
                var got = $"(got min={p.Min[i]}, opt={p.Opt[i]}, max={p.Max[i]})";
                if (shape[i].Value is { } size && (p.Min[i] != size || p.Opt[i] != size || p.Max[i] != size))
                {
                    BuildError($"{input.Name}: for dimension number {i} in profile 0 does not match network definition {got}, expected min=opt=max={size}).", log);
                }

                if (p.Min[i] < 0 || p.Min[i] > p.Opt[i] || p.Opt[i] > p.Max[i])
                {
                    BuildError($"{input.Name}: for dimension number {i} in profile 0 the dimensions are not ordered {got}, expected 0 <= min <= opt <= max).", log);
                }
            }

            result.Add(p);
        }

        return result;
    }

    /// <summary>The shape an inference run binds for <paramref name="profile"/>'s input: <c>--shapes</c>, checked against the profile, or opt.</summary>
    public static long[] InferenceShape(FakeProfile profile, string? given)
    {
        if (given is null)
        {
            return profile.Opt;
        }

        var dims = FakeOptions.Dims(given);
        if (dims.Length != profile.Min.Length)
        {
            throw new FakeFailure($"Error[3]: [executionContext.cpp::setInputShape::2068] Error Code 3: API Usage Error (Parameter check failed, condition: engineDims.nbDims == dims.nbDims. {profile.Name}: rank {dims.Length} given, the engine's input has rank {profile.Min.Length}.)");
        }

        for (var i = 0; i < dims.Length; i++)
        {
            if (profile.Min[i] == profile.Max[i] && dims[i] != profile.Min[i])
            {
                throw new FakeFailure($"Error[3]: [executionContext.cpp::setInputShape::2068] Error Code 3: API Usage Error (Parameter check failed, condition: engineDims.d[i] == dims.d[i]. Static dimension mismatch while setting input shape for {profile.Name}: dimension {i} is {dims[i]}, the engine's is {profile.Min[i]}.)");
            }

            if (dims[i] < profile.Min[i] || dims[i] > profile.Max[i])
            {
                throw new FakeFailure($"Error[3]: [executionContext.cpp::setInputShape::2068] Error Code 3: API Usage Error (Parameter check failed, condition: satisfyProfile. Set dimension [{FakeProfile.X(dims)}] for tensor {profile.Name} does not satisfy any optimization profiles. Valid range for profile 0: [{FakeProfile.X(profile.Min)}]..[{FakeProfile.X(profile.Max)}].)");
            }
        }

        return dims;
    }

    private static long[]? Get(Dictionary<string, string> list, string name) => list.TryGetValue(name, out var s) ? (s.Length == 0 ? [] : FakeOptions.Dims(s)) : null;

    private static void BuildError(string message, FakeLog log)
    {
        log.Error("Error[4]: [network.cpp::validate::3162] Error Code 4: Internal Error (" + message + ")");
        log.Error("Engine could not be created from network");
        log.Error("Building engine failed");
        log.Error("Failed to create engine from model or file.");
        throw new FakeFailure("Engine set up failed");
    }
}
