using System.Diagnostics;
using System.Globalization;
using OnnxTrtForge.Benchmarks;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization;

// forge-bench: timed harness for forge's I/O and optimizer on full-size-like synthetic models.
//   forge-bench synth OUT.onnx --blocks 300 --width 1600 --dtype fp32 --external-data always
//   forge-bench compare --forge path/to/forge.dll --model M.onnx --work DIR [--command convert|optimize] [--runs 3]
//   forge-bench rebuild GRAPH.onnx --stats GRAPH.stats.json --out DIR [--seed N]
//   forge-bench stats MODEL.onnx --out MODEL.stats.json
//   forge-bench fullsize --forge path/to/forge.dll --work DIR [--runs 3] [--steps convert,optimize,fp16] MODEL.onnx...
//   forge-bench check MODEL.onnx [--run]   (forge loads it, ONNX Runtime CPU creates a session, --run predicts once)
// "compare" times `cp` of the model (and its .data file) against `forge convert` (load + save) or
// `forge optimize` in the same run, and reads each process's peak RSS from /usr/bin/time.
var inv = CultureInfo.InvariantCulture;
string Arg(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.WriteLine("usage: forge-bench synth OUT.onnx [--blocks N] [--width N] [--dtype fp32|fp16] [--external-data always|never|auto]");
    Console.WriteLine("       forge-bench compare --forge FORGE.dll --model M.onnx --work DIR [--command convert|optimize] [--runs N]");
    Console.WriteLine("       forge-bench rebuild GRAPH.onnx --stats GRAPH.stats.json --out DIR [--seed N]");
    Console.WriteLine("       forge-bench stats MODEL.onnx --out MODEL.stats.json");
    Console.WriteLine("       forge-bench fullsize --forge FORGE.dll --work DIR [--runs N] [--steps convert,optimize,fp16] MODEL.onnx...");
    Console.WriteLine("       forge-bench check MODEL.onnx [--run]");
    return 2;
}

try
{
    switch (args[0])
    {
        case "rebuild":
        {
            var sw = Stopwatch.StartNew();
            var result = FullSizeModel.Rebuild(args[1], Arg("--stats", Path.ChangeExtension(args[1], ".stats.json")), Arg("--out", "."), ulong.Parse(Arg("--seed", "0"), inv));
            Console.WriteLine($"wrote {result.ModelPath} and {string.Join(", ", result.WeightFiles)}: {result.Tensors} tensors, {result.WeightBytes / 1e9:0.000} GB, {sw.Elapsed.TotalSeconds:0.0} s");
            return 0;
        }

        case "stats":
        {
            var stats = WeightStatsFile.Compute(args[1]);
            var output = Arg("--out", Path.ChangeExtension(args[1], ".stats.json"));
            stats.Save(output);
            Console.WriteLine($"wrote {output}: {stats}");
            return 0;
        }

        case "fullsize":
            return FullSizeBenchmark.Run(args, Arg);

        case "check":
            return FullSizeCheck.Run(args[1], args.Contains("--run"), Console.Out);
    }
}
catch (ForgeInputException e)
{
    Console.Error.WriteLine($"forge-bench: {e.Message}");
    return 2;
}

if (args[0] == "synth")
{
    var output = args[1];
    var blocks = int.Parse(Arg("--blocks", "300"), inv);
    var width = int.Parse(Arg("--width", "1600"), inv);
    var type = Arg("--dtype", "fp32") == "fp16" ? DataType.Float16 : DataType.Float;
    var mode = Enum.Parse<ExternalDataMode>(Arg("--external-data", "auto"), ignoreCase: true);
    var sw = Stopwatch.StartNew();
    using var model = SyntheticModel.Build(blocks, width, type);
    var result = OnnxWriter.Save(model, output, new SaveOptions { ExternalData = mode });
    var nodes = model.Graph.Nodes.Count;
    var weights = model.Graph.Initializers.Sum(v => v.Initializer!.ByteLength);
    Console.WriteLine($"wrote {result.ModelPath}: {nodes} nodes, {weights / 1e9:0.000} GB {type.OnnxName()} weights, data file {result.DataPath ?? "none"}, {sw.Elapsed.TotalSeconds:0.0} s");
    return 0;
}

if (args[0] == "phases")
{
    // In-process phase timing of load and save, to see where convert spends its time.
    var sw = Stopwatch.StartNew();
    using var model = OnnxReader.Load(args[1]);
    var load = sw.Elapsed.TotalSeconds;
    Console.WriteLine(string.Join(" ", File.ReadAllLines("/proc/self/status").Where(l => l.StartsWith("Rss", StringComparison.Ordinal) || l.StartsWith("VmHWM", StringComparison.Ordinal))));
    sw.Restart();
    OnnxWriter.Save(model, args[2], new SaveOptions { ExternalData = ExternalDataMode.Always });
    Console.WriteLine($"load {load:0.000} s, save {sw.Elapsed.TotalSeconds:0.000} s");
    return 0;
}

if (args[0] == "compare")
{
    var forge = Path.GetFullPath(Arg("--forge", "forge.dll"));
    var model = Path.GetFullPath(Arg("--model", "model.onnx"));
    var work = Path.GetFullPath(Arg("--work", Path.GetTempPath()));
    var command = Arg("--command", "convert");
    var runs = int.Parse(Arg("--runs", "3"), inv);
    Directory.CreateDirectory(work);
    var data = model + ".data";
    var inputBytes = new FileInfo(model).Length + (File.Exists(data) ? new FileInfo(data).Length : 0);
    var rows = new List<(string Name, double Seconds, long RssKb)>();
    for (var run = 0; run < runs; run++)
    {
        var copyTarget = Path.Combine(work, "copy.onnx");
        var copyArgs = File.Exists(data) ? $"{model} {data} {work}/" : $"{model} {copyTarget}";
        var (copySeconds, copyRss) = Measure.Timed("cp", copyArgs);
        rows.Add(("cp", copySeconds, copyRss));
        Measure.Clean(work);
        var outModel = Path.Combine(work, "out.onnx");
        var forgeArgs = command == "optimize"
            ? $"{forge} optimize {model} -o {outModel}"
            : $"{forge} convert {model} -o {outModel} --external-data always";
        var (forgeSeconds, forgeRss) = Measure.Timed("dotnet", forgeArgs);
        rows.Add(($"forge {command}", forgeSeconds, forgeRss));
        Measure.Clean(work);
    }

    Console.WriteLine();
    Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}; input {inputBytes / 1e9:0.000} GB ({Path.GetFileName(model)}); {runs} runs, medians");
    Console.WriteLine("| step | median s | min s | peak RSS MB | ratio to cp |");
    Console.WriteLine("|---|---|---|---|---|");
    var cp = Measure.Median(rows.Where(r => r.Name == "cp").Select(r => r.Seconds));
    foreach (var group in rows.GroupBy(r => r.Name))
    {
        var median = Measure.Median(group.Select(r => r.Seconds));
        Console.WriteLine($"| {group.Key} | {median:0.00} | {group.Min(r => r.Seconds):0.00} | {group.Max(r => r.RssKb) / 1024.0:0} | {median / cp:0.00} |");
    }

    return 0;
}

Console.Error.WriteLine($"forge-bench: unknown command '{args[0]}'");
return 2;
