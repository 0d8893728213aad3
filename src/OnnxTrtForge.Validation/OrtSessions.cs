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

    public string Describe() => Device == ExecutionDevice.Cuda ? $"onnxruntime cuda:{DeviceId}" : "onnxruntime cpu";
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
                try
                {
                    sessionOptions.AppendExecutionProvider_CUDA(options.DeviceId);
                }
                catch (Exception e) when (e is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
                {
                    throw new ForgeInputException($"--device cuda: ONNX Runtime's CUDA provider did not load ({FirstLine(e.Message)}); it needs the CUDA 13 and cuDNN 9 libraries on LD_LIBRARY_PATH", e);
                }
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

    internal static string FirstLine(string message)
    {
        var line = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? message;
        return line.Length > 300 ? line[..300] + "…" : line;
    }
}
