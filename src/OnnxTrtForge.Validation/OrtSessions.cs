using Microsoft.ML.OnnxRuntime;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Validation;

public enum ExecutionDevice
{
    Cpu,
    Cuda,
}

/// <summary>How ONNX Runtime runs a model.</summary>
public sealed record RuntimeOptions
{
    public ExecutionDevice Device { get; init; } = ExecutionDevice.Cpu;

    public int DeviceId { get; init; }

    /// <summary>ONNX Runtime's graph optimizations (all, by default, as its Python API); false runs the graph as written.</summary>
    public bool Optimize { get; init; } = true;

    /// <summary>Intra-op threads; 0 lets ONNX Runtime choose.</summary>
    public int Threads { get; init; }

    /// <summary>
    /// CUDA only: let convolutions and matrix products use TF32 (ONNX Runtime's default). Off by default here: a reference
    /// run in TF32 differs from fp32 by about 1e-3 relative (measured on an H100), which would mask what is validated.
    /// </summary>
    public bool AllowTf32 { get; init; }

    /// <summary>
    /// CUDA only: where the caller binds fixed device buffers of static shapes (the denoising loop; <c>forge bench
    /// --cuda-graph</c>), capture the run once as a CUDA graph and replay it. Sessions opened without such bindings
    /// (<see cref="OrtSessions.Create(string, RuntimeOptions, bool)"/> with <c>captureGraph</c> false) ignore it.
    /// </summary>
    public bool CudaGraph { get; init; } = true;

    public string Describe() => Device == ExecutionDevice.Cuda ? $"onnxruntime cuda:{DeviceId}{(AllowTf32 ? " tf32" : "")}" : "onnxruntime cpu";
}

/// <summary>Creates ONNX Runtime sessions; the one place that knows about execution providers.</summary>
public static class OrtSessions
{
    /// <param name="captureGraph">Ask the CUDA provider for CUDA graph capture (<c>enable_cuda_graph</c>); the caller
    /// must then run through an <see cref="OrtIoBinding"/> whose buffers never move. Ignored on CPU.</param>
    public static InferenceSession Create(string modelPath, RuntimeOptions options, bool captureGraph = false)
    {
        if (!File.Exists(modelPath))
        {
            throw new ForgeInputException($"{modelPath}: model not found");
        }

        var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = options.Optimize ? GraphOptimizationLevel.ORT_ENABLE_ALL : GraphOptimizationLevel.ORT_DISABLE_ALL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        try
        {
            if (options.Threads > 0)
            {
                sessionOptions.IntraOpNumThreads = options.Threads;
            }

            if (options.Device == ExecutionDevice.Cuda)
            {
                AppendCuda(sessionOptions, options, captureGraph);
            }

            try
            {
                return new InferenceSession(modelPath, sessionOptions);
            }
            catch (OnnxRuntimeException e)
            {
                throw LoadFailure(modelPath, options, e);
            }
        }
        finally
        {
            sessionOptions.Dispose();
        }
    }

    /// <summary>The shared libraries ONNX Runtime's CUDA provider loads (driver, CUDA 13 runtime and BLAS, cuRAND, cuDNN 9).</summary>
    private static readonly string[] CudaLibraries = ["libcuda.so.1", "libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libcurand.so.10", "libcudnn.so.9"];

    private static void AppendCuda(SessionOptions sessionOptions, RuntimeOptions options, bool captureGraph)
    {
        try
        {
            using var cuda = new OrtCUDAProviderOptions();
            cuda.UpdateOptions(new Dictionary<string, string>
            {
                ["device_id"] = options.DeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["use_tf32"] = options.AllowTf32 ? "1" : "0",
                ["enable_cuda_graph"] = captureGraph ? "1" : "0",
            });
            sessionOptions.AppendExecutionProvider_CUDA(cuda);
        }
        catch (Exception e) when (e is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
        {
            // ONNX Runtime's own message names at most the first missing library; say which ones the loader cannot find.
            var missing = CudaLibraries.Where(lib => !TryLoad(lib)).ToList();
            var why = !CudaProviderInstalled()
                ? "libonnxruntime_providers_cuda.so is not installed beside forge (the OnnxTrtForge.Tool package leaves it out: use `dotnet publish` or `dotnet run` from the repository, README \"Install\")"
                : missing.Count > 0
                ? $"{string.Join(", ", missing)} not found (install CUDA 13 and cuDNN 9 and put their libraries on LD_LIBRARY_PATH)"
                : FirstLine(e.Message);
            throw new ForgeInputException($"--device cuda: ONNX Runtime's CUDA provider did not load: {why}", e);
        }
    }

    /// <summary>
    /// The one-line error for a model ONNX Runtime refused at session creation. A node the chosen device has no kernel
    /// for (ONNX Runtime's NOT_IMPLEMENTED "Could not find an implementation for Op(version) node with name 'N'", e.g.
    /// com.microsoft GroupNorm, which has a CUDA kernel only, on the CPU) names the op, the node and the device; anything
    /// else gives ONNX Runtime's first line. Bench, validate, denoise and optimize --check all open sessions here.
    /// </summary>
    public static ForgeInputException LoadFailure(string modelPath, RuntimeOptions options, OnnxRuntimeException e)
    {
        if (MissingKernel.TryParse(e.Message) is { } missing)
        {
            var device = options.Device == ExecutionDevice.Cuda ? $"cuda:{options.DeviceId}" : "cpu";
            var hint = options.Device == ExecutionDevice.Cpu ? " (try --device cuda)" : "";
            return new ForgeInputException($"{modelPath}: node '{missing.Node}' ({missing.Op}, opset {missing.Version}) has no ONNX Runtime kernel on --device {device}{hint}", e);
        }

        return new ForgeInputException($"{modelPath}: ONNX Runtime cannot load the model: {FirstLine(e.Message)}", e);
    }

    /// <summary>Whether ONNX Runtime's CUDA provider library sits where ONNX Runtime looks for it (beside forge or under runtimes/).</summary>
    private static bool CudaProviderInstalled() =>
        new[] { AppContext.BaseDirectory, Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native") }
            .Any(dir => File.Exists(Path.Combine(dir, "libonnxruntime_providers_cuda.so")));

    private static bool TryLoad(string library)
    {
        if (!System.Runtime.InteropServices.NativeLibrary.TryLoad(library, out var handle))
        {
            return false;
        }

        System.Runtime.InteropServices.NativeLibrary.Free(handle);
        return true;
    }

    internal static string FirstLine(string message)
    {
        var line = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? message;
        return line.Length > 300 ? line[..300] + "…" : line;
    }
}

/// <summary>An op ONNX Runtime found no kernel for on the session's providers, parsed from its NOT_IMPLEMENTED message.</summary>
public sealed record MissingKernel(string Op, string Version, string Node)
{
    // two wordings: session creation with graph optimizations off ("Could not find an implementation for
    // GroupNorm(1) node with name 'n'") and on ("Failed to find kernel for com.microsoft.GroupNorm(1) (node:'n' ep:'…')")
    private static readonly System.Text.RegularExpressions.Regex Pattern = new(
        @"(?:Could not find an implementation for (?<op>[^\s(]+)\((?<version>[^)]*)\) node with name '(?<node>[^']*)')" +
        @"|(?:Failed to find kernel for (?<op>[^\s(]+)\((?<version>[^)]*)\) \(node:'(?<node>[^']*)')",
        System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    public static MissingKernel? TryParse(string message)
    {
        var m = Pattern.Match(message);
        return m.Success ? new MissingKernel(m.Groups["op"].Value, m.Groups["version"].Value, m.Groups["node"].Value) : null;
    }
}
