using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Validation;

/// <summary>
/// A session run through an <see cref="OrtIoBinding"/> over tensors resident on its device: inputs are allocated once
/// and written by explicit copies, outputs are allocated once from their shapes (where the model leaves an output's shape
/// open, the first run lets ONNX Runtime allocate it on the device, and from then on a tensor of the shape it produced is
/// bound), so every run after the first reads and writes the same addresses. That is what CUDA graph capture needs: with
/// <see cref="RuntimeOptions.CudaGraph"/> on CUDA the session is opened with <c>enable_cuda_graph</c>; when ONNX Runtime
/// refuses it (at session creation, or at the capture run) the session is reopened without it, the inputs are written
/// again from their last uploads, and <see cref="GraphNote"/> says why.
/// </summary>
public sealed class BoundSession : IDisposable
{
    private readonly string modelPath;
    private readonly RuntimeOptions options;
    private readonly IReadOnlyDictionary<string, long[]> inputShapes;
    private readonly Dictionary<string, byte[]> lastUploads = new(StringComparer.Ordinal);
    private readonly RunOptions runOptions = new();
    private State state;
    private int runs;

    /// <param name="inputShapes">Every model input's concrete shape.</param>
    /// <param name="outputShapes">Output shapes known before running (others are learnt from the first run).</param>
    /// <param name="useGraph">Ask for a CUDA graph (CUDA only; also needs <see cref="RuntimeOptions.CudaGraph"/>).</param>
    public BoundSession(string modelPath, RuntimeOptions options, IReadOnlyDictionary<string, long[]> inputShapes, IReadOnlyDictionary<string, long[]>? outputShapes, bool useGraph)
    {
        this.modelPath = modelPath;
        this.options = options;
        this.inputShapes = inputShapes;
        var wantGraph = useGraph && options.CudaGraph && options.Device == ExecutionDevice.Cuda;
        InferenceSession session;
        if (wantGraph)
        {
            try
            {
                session = OrtSessions.Create(modelPath, options, captureGraph: true);
                CudaGraph = true;
            }
            catch (ForgeInputException graphError)
            {
                session = OrtSessions.Create(modelPath, options); // a model that does not load at all fails here again, with its own error
                GraphNote = $"ONNX Runtime refused the CUDA graph ({OrtSessions.FirstLine(graphError.InnerException?.Message ?? graphError.Message)}); ran without it";
            }
        }
        else
        {
            session = OrtSessions.Create(modelPath, options);
        }

        state = new State(session, options, inputShapes, outputShapes);
    }

    public InferenceSession Session => state.Session;

    public IReadOnlyList<string> InputNames => state.Session.InputNames;

    public IReadOnlyList<string> OutputNames => state.Session.OutputNames;

    /// <summary>Whether runs capture and replay a CUDA graph.</summary>
    public bool CudaGraph { get; private set; }

    /// <summary>Why a requested CUDA graph is not used; null when it is, or was not asked for.</summary>
    public string? GraphNote { get; private set; }

    public string Description => options.Describe() + (CudaGraph ? ", cuda graph" : "") + ", io-binding";

    public TensorElementType InputType(string name) => state.Session.InputMetadata[name].ElementDataType;

    public DeviceTensor Input(string name) => state.Inputs[name];

    /// <summary>An output's device tensor; outputs of open shape exist only after the first run.</summary>
    public DeviceTensor Output(string name) => state.Outputs.TryGetValue(name, out var t)
        ? t
        : throw new InvalidOperationException($"output '{name}' is bound by memory info until the first run");

    /// <summary>Writes an input's data to its device tensor (kept on the host too, to write it again should the session be reopened).</summary>
    public void Upload(string name, ReadOnlySpan<byte> data)
    {
        if (!lastUploads.TryGetValue(name, out var copy) || copy.Length != data.Length)
        {
            lastUploads[name] = copy = new byte[data.Length];
        }

        data.CopyTo(copy);
        state.Inputs[name].Upload(data);
    }

    /// <summary>One synchronous run: when it returns, the outputs are on the device.</summary>
    public void Run()
    {
        try
        {
            state.Run(runOptions);
        }
        catch (OnnxRuntimeException e) when (CudaGraph && runs < 2)
        {
            // the capture happens on the first runs: a refusal there (an op that cannot be captured) falls back
            CudaGraph = false;
            GraphNote = $"ONNX Runtime could not capture a CUDA graph ({OrtSessions.FirstLine(e.Message)}); ran without it";
            state.Dispose();
            state = new State(OrtSessions.Create(modelPath, options), options, inputShapes, null);
            foreach (var (name, data) in lastUploads)
            {
                state.Inputs[name].Upload(data);
            }

            state.Run(runOptions);
        }

        runs++;
    }

    public void Dispose()
    {
        state.Dispose();
        runOptions.Dispose();
    }

    /// <summary>A session with its binding and its device tensors.</summary>
    private sealed class State : IDisposable
    {
        private readonly OrtIoBinding binding;
        private readonly DeviceMemory memory;
        private bool outputsResolved;

        public State(InferenceSession session, RuntimeOptions options, IReadOnlyDictionary<string, long[]> inputShapes, IReadOnlyDictionary<string, long[]>? outputShapes)
        {
            Session = session;
            memory = new DeviceMemory(session, options);
            binding = session.CreateIoBinding();
            try
            {
                foreach (var name in session.InputNames)
                {
                    if (!inputShapes.TryGetValue(name, out var dims))
                    {
                        throw new ForgeInputException($"no shape for model input '{name}'");
                    }

                    var tensor = memory.Allocate(session.InputMetadata[name].ElementDataType, dims);
                    Inputs[name] = tensor;
                    binding.BindInput(name, tensor.Value);
                }

                outputsResolved = true;
                foreach (var name in session.OutputNames)
                {
                    if (outputShapes?.TryGetValue(name, out var dims) == true)
                    {
                        var tensor = memory.Allocate(session.OutputMetadata[name].ElementDataType, dims);
                        Outputs[name] = tensor;
                        binding.BindOutput(name, tensor.Value);
                    }
                    else
                    {
                        binding.BindOutputToDevice(name, memory.Info);
                        outputsResolved = false;
                    }
                }
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public InferenceSession Session { get; }

        public Dictionary<string, DeviceTensor> Inputs { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, DeviceTensor> Outputs { get; } = new(StringComparer.Ordinal);

        public void Run(RunOptions runOptions)
        {
            Session.RunWithBinding(runOptions, binding);
            if (outputsResolved)
            {
                return;
            }

            // the first run told us the open output shapes: from now on every output has a fixed buffer
            var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
            using (var produced = binding.GetOutputValues())
            {
                var names = binding.GetOutputNames();
                for (var i = 0; i < names.Length; i++)
                {
                    shapes[names[i]] = produced.ElementAt(i).GetTensorTypeAndShape().Shape;
                }
            }

            binding.ClearBoundOutputs();
            foreach (var name in Session.OutputNames)
            {
                if (!Outputs.TryGetValue(name, out var tensor))
                {
                    tensor = memory.Allocate(Session.OutputMetadata[name].ElementDataType, shapes[name]);
                    Outputs[name] = tensor;
                }

                binding.BindOutput(name, tensor.Value);
            }

            outputsResolved = true;
        }

        public void Dispose()
        {
            binding.Dispose();
            foreach (var t in Inputs.Values.Concat(Outputs.Values))
            {
                t.Dispose();
            }

            memory.Dispose();
            Session.Dispose();
        }
    }
}
