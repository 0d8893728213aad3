using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Serialization;

namespace FakeTrtexec;

/// <summary>"Builds" an engine: parses the ONNX like TensorRT's parser would (rejecting non-standard ops), then
/// writes a text file that records the ONNX it came from. Simulates the failure classes on request.</summary>
internal sealed class FakeBuilder(FakeVersion version, FakeOptions options, FakeLog log, string? fail)
{
    public const string EngineMagic = "FAKETRT-ENGINE v1";

    public int Build(string onnxPath)
    {
        log.Info("Format: ONNX");
        log.Info("Model: " + onnxPath);
        log.Info("=== Build Options ===");
        log.Info("Precision: " + Precision());
        log.Info("TensorRT version: " + version);
        log.Info("Start parsing network model.");
        log.Trt("----------------------------------------------------------------");
        log.Trt("Input filename:   " + onnxPath);
        if (!File.Exists(onnxPath))
        {
            log.Error("[TRT] ModelImporter.cpp:720: Failed to parse ONNX model from file: " + onnxPath);
            log.Error("Failed to parse onnx file");
            log.Error("Parsing model failed");
            return log.Failed();
        }

        Model model;
        try
        {
            model = OnnxReader.Load(onnxPath);
        }
        catch (ForgeInputException e)
        {
            log.Error("[TRT] ModelImporter.cpp:720: Failed to parse ONNX model from file: " + onnxPath + " (" + e.Message + ")");
            log.Error("Failed to parse onnx file");
            return log.Failed();
        }

        using (model)
        {
            log.Trt("ONNX IR version:  0.0." + model.IrVersion.ToString(CultureInfo.InvariantCulture));
            log.Trt("Opset version:    " + model.OnnxOpset.ToString(CultureInfo.InvariantCulture));
            log.Trt("Producer name:    " + model.ProducerName);
            log.Trt("Producer version: " + model.ProducerVersion);
            log.Trt("----------------------------------------------------------------");
            var nodes = model.Graph.Nodes;
            var foreign = nodes.Select((n, i) => (Node: n, Index: i)).FirstOrDefault(x => x.Node.Domain is not ("" or "ai.onnx"));
            if (fail == "unsupported-op" || foreign.Node is not null)
            {
                var (node, index) = foreign.Node is not null ? foreign : (nodes[0], 0);
                var op = foreign.Node is not null ? node.OpType : "ATen";
                ParserError(node, index, op, $"ERROR: ModelImporter.cpp:135 In function parseGraph: [8] No importer registered for op: {op}");
                return log.Failed();
            }

            if (fail == "parser-error")
            {
                var index = Math.Max(0, nodes.ToList().FindIndex(n => n.OpType == "Conv"));
                var node = nodes[index];
                ParserError(node, index, node.OpType, $"In node {index} with name: {node.Name} and operator: {node.OpType} (importConv): UNSUPPORTED_NODE: Assertion failed: inputs.at(2).is_weights() && \"The bias tensor is required to be an initializer.\"");
                return log.Failed();
            }

            var inputNames = model.Graph.Inputs.Where(v => !v.IsInitializer).Select(v => v.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var key in new[] { "minShapes", "optShapes", "maxShapes" })
            {
                foreach (var name in FakeOptions.NameValueList(options.Get(key)).Keys.Where(n => !inputNames.Contains(n)))
                {
                    log.Error($"Cannot find input tensor with name \"{name}\" in the network inputs! Please make sure the input tensor names are correct.");
                    log.Error("Network And Config setup failed");
                    return log.Failed();
                }
            }

            log.Info("Finished parsing network model. Parse time: 0.0123");
            var profiles = FakeProfiles.Resolve(model.Graph, options, log);
            foreach (var p in profiles)
            {
                log.Info($"Set shape of input tensor {p.Name} for optimization profile 0 to: MIN={FakeProfile.X(p.Min)} OPT={FakeProfile.X(p.Opt)} MAX={FakeProfile.X(p.Max)}");
            }

            var timingCache = options.Get("timingCacheFile");
            if (timingCache is not null && File.Exists(timingCache))
            {
                log.Trt($"Loaded {new FileInfo(timingCache).Length} bytes of timing cache from {timingCache}");
            }
            else
            {
                log.Trt("Local timing cache in use. Profiling results in this builder pass will not be stored.");
            }

            log.Trt($"Detected {model.Graph.Inputs.Count(v => !v.IsInitializer)} inputs and {model.Graph.Outputs.Count} output network tensors.");
            if (fail == "hang")
            {
                var partial = options.Get("saveEngine");
                if (partial is not null)
                {
                    File.WriteAllText(partial, EngineMagic + "\n# partial: a stand-in build that hangs\n");
                }

                log.Trt("Searching for tactics (stand-in simulating a hang)...");
                Thread.Sleep(Timeout.Infinite);
            }

            if (options.Has("verbose"))
            {
                foreach (var node in nodes.Take(20))
                {
                    log.Verbose($"[TRT] Timing Runner: {node.Name} ({node.OpType}) (stand-in: no tactics are timed)");
                }
            }

            if (fail == "oom")
            {
                log.Error("[TRT] 2: [virtualMemoryBuffer.cpp::resizePhysical::140] Error Code 2: OutOfMemory (no further information)");
                log.Error("[TRT] Requested amount of GPU memory (17179869184 bytes) could not be allocated. There may not be enough free memory for allocation to succeed.");
                log.Error("Engine could not be created from network");
                log.Error("Building engine failed");
                log.Error("Failed to create engine from model or file.");
                log.Error("Engine set up failed");
                return log.Failed();
            }

            if (fail == "no-implementation")
            {
                var node = nodes.FirstOrDefault(n => n.OpType == "MatMul") ?? nodes[0];
                log.Error($"[TRT] 10: [optimizer.cpp::computeCosts::3728] Error Code 10: Internal Error (Could not find any implementation for node {{ForeignNode[{node.Name}...{nodes[^1].Name}]}}.)");
                log.Error("Engine could not be created from network");
                log.Error("Building engine failed");
                return log.Failed();
            }

            var engine = options.Get("saveEngine") ?? throw new FakeFailure("--saveEngine is required by this stand-in");
            var text = new StringBuilder();
            text.Append(EngineMagic).Append('\n');
            text.Append("# ").Append(FakeLog.StandInLine).Append('\n');
            text.Append("tensorrt: ").Append(version).Append('\n');
            text.Append("built-from: ").Append(Path.GetFullPath(onnxPath)).Append('\n');
            text.Append("onnx-sha256: ").Append(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(onnxPath)))).Append('\n');
            text.Append("precision: ").Append(Precision()).Append('\n');
            foreach (var key in new[] { "minShapes", "optShapes", "maxShapes" })
            {
                text.Append(key).Append(": ").Append(options.Get(key) ?? "").Append('\n');
            }

            foreach (var p in profiles)
            {
                text.Append(p.HeaderLine()).Append('\n');
            }

            // the engine carries the model itself (weights inlined), as a real plan does: it runs after the ONNX is gone
            var embedded = EmbeddedModel(model);
            text.Append("onnx-bytes: ").Append(embedded.Length.ToString(CultureInfo.InvariantCulture)).Append('\n');
            text.Append(PayloadSeparator).Append('\n');
            var seconds = log.Clock.Elapsed.TotalSeconds;
            log.Trt($"Engine generation completed in {seconds.ToString("0.####", CultureInfo.InvariantCulture)} seconds.");
            using (var stream = File.Create(engine))
            {
                stream.Write(Encoding.UTF8.GetBytes(text.ToString()));
                stream.Write(embedded);
            }
            if (timingCache is not null)
            {
                File.WriteAllText(timingCache, $"FakeTrtexec timing cache (stand-in) for TensorRT {version}\n");
                log.Trt($"Saved {new FileInfo(timingCache).Length} bytes of timing cache to {timingCache}");
            }

            if (options.Get("exportLayerInfo") is { } layerInfo)
            {
                var info = new
                {
                    Layers = nodes.Select(n => new { Name = n.Name, LayerType = n.OpType }).ToArray(),
                    Bindings = model.Graph.Inputs.Where(v => !v.IsInitializer).Select(v => v.Name).Concat(model.Graph.Outputs.Select(v => v.Name)).ToArray(),
                };
                File.WriteAllText(layerInfo, JsonSerializer.Serialize(info));
            }

            var mib = new FileInfo(engine).Length / (1024.0 * 1024.0);
            log.Info($"Engine built in {log.Clock.Elapsed.TotalSeconds.ToString("0.#####", CultureInfo.InvariantCulture)} sec.");
            log.Info($"Created engine with size: {mib.ToString("0.######", CultureInfo.InvariantCulture)} MiB");
            log.Info("Saving engine to file " + engine + " (stand-in engine: not a real TensorRT engine)");
            return 0;
        }
    }

    /// <summary>The line between a stand-in engine's text header and the ONNX bytes it carries.</summary>
    public const string PayloadSeparator = "--- onnx ---";

    private static byte[] EmbeddedModel(Model model)
    {
        var temp = Path.Combine(Path.GetTempPath(), "faketrt-" + Guid.NewGuid().ToString("N") + ".onnx");
        try
        {
            OnnxWriter.Save(model, temp, new SaveOptions { ExternalData = ExternalDataMode.Never });
            return File.ReadAllBytes(temp);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private string Precision() =>
        version.Major >= 11 ? "strongly typed (from the ONNX)" : options.Has("fp16") ? "FP32+FP16" : options.Has("bf16") ? "FP32+BF16" : "FP32";

    private void ParserError(Node node, int index, string op, string error)
    {
        var output = node.Outputs.Count > 0 ? node.Outputs[0].Name : "";
        log.Error($"[TRT] ModelImporter.cpp:771: While parsing node number {index} [{op} -> \"{output}\"]:");
        log.Error("[TRT] ModelImporter.cpp:772: --- Begin node ---");
        log.Error($"[TRT] ModelImporter.cpp:773: name: \"{node.Name}\" op_type: \"{node.OpType}\" domain: \"{node.Domain}\"");
        log.Error("[TRT] ModelImporter.cpp:774: --- End node ---");
        log.Error("[TRT] ModelImporter.cpp:777: " + error);
        log.Error("Failed to parse onnx file");
        log.Error("Parsing model failed");
        log.Error("Failed to create engine from model or file.");
        log.Error("Engine set up failed");
    }
}
