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

    public string Describe() => Device == ExecutionDevice.Cuda ? $"onnxruntime cuda:{DeviceId}{(AllowTf32 ? " tf32" : "")}" : "onnxruntime cpu";
}

/// <summary>Creates ONNX Runtime sessions; the one place that knows about execution providers.</summary>
public static class OrtSessions
{
    public static InferenceSession Create(string modelPath, RuntimeOptions options)
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
                AppendCuda(sessionOptions, options);
            }

            try
            {
                return new InferenceSession(modelPath, sessionOptions);
            }
            catch (OnnxRuntimeException e)
            {
                throw new ForgeInputException($"{modelPath}: ONNX Runtime cannot load the model: {FirstLine(e.Message)}", e);
            }
        }
        finally
        {
            sessionOptions.Dispose();
        }
    }

    /// <summary>The shared libraries ONNX Runtime's CUDA provider loads (driver, CUDA 13 runtime and BLAS, cuRAND, cuDNN 9).</summary>
    private static readonly string[] CudaLibraries = ["libcuda.so.1", "libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libcurand.so.10", "libcudnn.so.9"];

    private static void AppendCuda(SessionOptions sessionOptions, RuntimeOptions options)
    {
        try
        {
            using var cuda = new OrtCUDAProviderOptions();
            cuda.UpdateOptions(new Dictionary<string, string>
            {
                ["device_id"] = options.DeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["use_tf32"] = options.AllowTf32 ? "1" : "0",
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
