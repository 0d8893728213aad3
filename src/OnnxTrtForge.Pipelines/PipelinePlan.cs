using System.Collections;
using System.Globalization;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Pipelines.Running;
using OnnxTrtForge.Pipelines.Spec;
using OnnxTrtForge.Pipelines.Yaml;
using OnnxTrtForge.TensorRt;
using ShapeProfile = OnnxTrtForge.Pipelines.Spec.ShapeProfile;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace OnnxTrtForge.Pipelines;

/// <summary>
/// The resolved plan of a pipeline (<c>forge run --dry-run</c>): what will run, in which order, with every
/// path absolute, every <c>use:</c> merged, every <c>${ENV}</c> expanded and every default filled in,
/// written in the pipeline's own YAML vocabulary.
/// </summary>
public static class PipelinePlan
{
    public static string Render(LoadedPipeline pipeline)
    {
        var plan = new Dictionary<string, object?>
        {
            ["pipeline"] = pipeline.File,
            ["name"] = pipeline.Name,
            ["out"] = pipeline.OutDirectory,
            ["stages"] = pipeline.Stages.Select(s => s.ToString().ToLowerInvariant()).ToList(),
            ["gates"] = pipeline.Stages.SelectMany(s => PipelineRunner.GatesOf(pipeline, s)).ToList(),
        };
        if (pipeline.Trtexec is not null)
        {
            plan["trtexec"] = pipeline.Trtexec;
        }

        if (pipeline.ConfigFiles.Count > 0)
        {
            plan["configs"] = pipeline.ConfigFiles.ToList();
        }

        if (BuildArguments(pipeline) is { } arguments)
        {
            plan["trtexec-arguments"] = arguments;
        }

        plan["spec"] = Tree(pipeline.Spec);
        return Emit(plan);
    }

    /// <summary>Writes a tree of maps, lists and strings as block YAML through YamlDotNet's emitter (no reflection).</summary>
    public static string Emit(object? tree)
    {
        using var text = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        var emitter = new Emitter(text);
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart());
        Node(emitter, tree);
        emitter.Emit(new DocumentEnd(isImplicit: true));
        emitter.Emit(new StreamEnd());
        return text.ToString();
    }

    private static void Node(IEmitter emitter, object? value)
    {
        switch (value)
        {
            case null:
                emitter.Emit(new Scalar(null, null, "", ScalarStyle.Plain, isPlainImplicit: true, isQuotedImplicit: false));
                break;
            case string s:
                emitter.Emit(new Scalar(s));
                break;
            case IDictionary map:
                emitter.Emit(new MappingStart(null, null, isImplicit: true, MappingStyle.Block));
                foreach (DictionaryEntry entry in map)
                {
                    emitter.Emit(new Scalar(Convert.ToString(entry.Key, CultureInfo.InvariantCulture)!));
                    Node(emitter, entry.Value);
                }

                emitter.Emit(new MappingEnd());
                break;
            case IEnumerable list:
                emitter.Emit(new SequenceStart(null, null, isImplicit: true, SequenceStyle.Block));
                foreach (var item in list)
                {
                    Node(emitter, item);
                }

                emitter.Emit(new SequenceEnd());
                break;
            default:
                emitter.Emit(new Scalar(Convert.ToString(value, CultureInfo.InvariantCulture) ?? ""));
                break;
        }
    }

    /// <summary>
    /// The trtexec command line of the build stage, when <c>build.version</c> says which TensorRT it is for
    /// (otherwise the version comes from trtexec's banner at run time). The engine cache adds its timing
    /// cache file to it.
    /// </summary>
    private static object? BuildArguments(LoadedPipeline pipeline)
    {
        var spec = pipeline.Spec;
        if (!pipeline.Stages.Contains(RunStage.Build) || spec.Build?.Version is not { } written || !TrtVersion.TryParse(written, out var version))
        {
            return null;
        }

        var onnx = pipeline.Stages.Contains(RunStage.Optimize) && spec.Optimize is { } optimize
            ? Path.Combine(pipeline.OutDirectory, optimize.Fp16?.Output ?? optimize.Output)
            : spec.Model.FullPath;
        try
        {
            return TrtexecArguments.Build(version, onnx, Path.Combine(pipeline.OutDirectory, spec.Build.Engine), BuildStage.Options(spec.Build)).ToList();
        }
        catch (ForgeInputException e)
        {
            return $"TensorRT {version} cannot build this: {e.Message}";
        }
    }

    /// <summary>A spec value as plain maps, lists and strings, keyed and spelled as in YAML.</summary>
    public static object? Tree(object? value) => value switch
    {
        null => null,
        string s => s,
        bool b => b ? "true" : "false",
        int or long => Convert.ToString(value, CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        Enum e => SpecBinder.EnumName(e),
        FilePath p => p.FullPath,
        TensorShape or ByteSize or Duration => value.ToString(),
        ShapeProfile p => p.Min.Equals(p.Opt) && p.Opt.Equals(p.Max) ? p.Min.ToString()
            : new Dictionary<string, object?> { ["min"] = p.Min.ToString(), ["opt"] = p.Opt.ToString(), ["max"] = p.Max.ToString() },
        PassSpec p => p.Options.Count == 0 ? p.Name : new Dictionary<string, object?> { [p.Name] = p.Options.ToDictionary(o => o.Key, o => (object?)o.Value) },
        IDictionary map => map.Keys.Cast<object>().ToDictionary(k => k.ToString()!, k => Tree(map[k])),
        IEnumerable list => list.Cast<object?>().Select(Tree).ToList(),
        _ => SpecTypes.RecordOf(value.GetType()).Properties
            .Select(p => (Key: SpecBinder.KeyOf(p), Value: Tree(p.GetValue(value))))
            .Where(kv => kv.Value is not null)
            .ToDictionary(kv => kv.Key, kv => kv.Value),
    };
}
