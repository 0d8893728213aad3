using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Validation;

/// <summary>
/// A session run through an <see cref="OrtIoBinding"/> over tensors resident on its device: inputs are allocated once
/// and written by explicit copies, outputs are allocated once from their shapes (where the model leaves an output's shape
/// open, the first run lets ONNX Runtime allocate it on the device, and from then on that very tensor stays bound), so
/// every run after the first reads and writes the same addresses, and a run has finished on the device when it returns. That is what CUDA graph capture needs: with
/// <see cref="RuntimeOptions.CudaGraph"/> on CUDA the session is opened with <c>enable_cuda_graph</c>; when ONNX Runtime
/// refuses it (at session creation, or at the capture run) the session is reopened without it, the inputs are written
/// again from their last uploads, and <see cref="GraphNote"/> says why.
/// </summary>
public sealed class BoundSession : IDisposable
{
    private readonly string modelPath;
    private readonly RuntimeOptions options;
    private readonly Dictionary<string, byte[]> lastUploads = new(StringComparer.Ordinal);
    private readonly RunOptions runOptions = new();
    private InferenceSession session;
    private State? state;
    private IReadOnlyDictionary<string, long[]>? inputShapes;
    private IReadOnlyDictionary<string, long[]>? outputShapes;
    private int runs;

    /// <summary>Opens the session (with a CUDA graph when <paramref name="useGraph"/>, <see cref="RuntimeOptions.CudaGraph"/> and CUDA all say so).</summary>
    public BoundSession(string modelPath, RuntimeOptions options, bool useGraph)
    {
        this.modelPath = modelPath;
        this.options = options;
        if (useGraph && options.CudaGraph && options.Device == ExecutionDevice.Cuda)
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
    }

    /// <summary>Opens the session and binds tensors of the given shapes at once.</summary>
    public BoundSession(string modelPath, RuntimeOptions options, IReadOnlyDictionary<string, long[]> inputShapes, IReadOnlyDictionary<string, long[]>? outputShapes, bool useGraph)
        : this(modelPath, options, useGraph)
    {
        try
        {
            Bind(inputShapes, outputShapes);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public InferenceSession Session => session;

    public IReadOnlyList<string> InputNames => session.InputNames;

    public IReadOnlyList<string> OutputNames => session.OutputNames;

    /// <summary>Whether runs capture and replay a CUDA graph.</summary>
    public bool CudaGraph { get; private set; }

    /// <summary>Why a requested CUDA graph is not used; null when it is, or was not asked for.</summary>
    public string? GraphNote { get; private set; }

    public string Description => options.Describe() + (CudaGraph ? ", cuda graph" : "") + ", io-binding";

    /// <summary>Whether tensors are bound for exactly these input shapes.</summary>
    public bool IsBoundFor(IReadOnlyDictionary<string, long[]> shapes) =>
        inputShapes is not null && shapes.Count == inputShapes.Count && shapes.All(kv => inputShapes.TryGetValue(kv.Key, out var d) && d.SequenceEqual(kv.Value));

    /// <summary>
    /// Allocates and binds every input (shapes required) and the outputs whose shapes are given. Binding again with
    /// other shapes replaces the tensors; a session that has captured a CUDA graph is reopened first (its graph reads the
    /// old addresses).
    /// </summary>
    public void Bind(IReadOnlyDictionary<string, long[]> inputs, IReadOnlyDictionary<string, long[]>? outputs)
    {
        state?.Dispose();
        state = null;
        lastUploads.Clear();
        if (CudaGraph && runs > 0)
        {
            session.Dispose();
            session = OrtSessions.Create(modelPath, options, captureGraph: true);
            runs = 0;
        }

        inputShapes = inputs;
        outputShapes = outputs;
        state = new State(session, options, inputs, outputs);
    }

    public TensorElementType InputType(string name) => session.InputMetadata[name].ElementDataType;

    public TensorElementType OutputType(string name) => session.OutputMetadata[name].ElementDataType;

    public DeviceTensor Input(string name) => Bound.Inputs[name];

    /// <summary>An output's device tensor; outputs of open shape exist only after the first run.</summary>
    public DeviceTensor Output(string name) => Bound.Outputs.TryGetValue(name, out var t)
        ? t
        : throw new InvalidOperationException($"output '{name}' is bound by memory info until the first run");

    private State Bound => state ?? throw new InvalidOperationException("nothing is bound yet");

    /// <summary>Writes an input's data to its device tensor (kept on the host too, to write it again should the session be reopened).</summary>
    public void Upload(string name, ReadOnlySpan<byte> data)
    {
        if (!lastUploads.TryGetValue(name, out var copy) || copy.Length != data.Length)
        {
            lastUploads[name] = copy = new byte[data.Length];
        }

        data.CopyTo(copy);
        Bound.Inputs[name].Upload(data);
    }

    /// <summary>One synchronous run: when it returns, the outputs are on the device. A failure is one line naming the model and the shapes.</summary>
    public void Run()
    {
        try
        {
            RunOnce();
        }
        catch (OnnxRuntimeException e)
        {
            var shapes = string.Join(", ", (inputShapes ?? new Dictionary<string, long[]>()).Select(kv => $"{kv.Key} [{string.Join(",", kv.Value)}]"));
            throw new ForgeInputException($"{modelPath}: ONNX Runtime failed on {shapes} ({Description}): {OrtSessions.FirstLine(e.Message)}", e);
        }

        runs++;
    }

    private void RunOnce()
    {
        var bound = Bound;
        try
        {
            bound.Run(runOptions);
        }
        catch (OnnxRuntimeException e) when (CudaGraph && runs < 2)
        {
            // the capture happens on the first runs: a refusal there (an op that cannot be captured) falls back
            CudaGraph = false;
            GraphNote = $"ONNX Runtime could not capture a CUDA graph ({OrtSessions.FirstLine(e.Message)}); ran without it";
            bound.Dispose();
            state = null;
            session.Dispose();
            session = OrtSessions.Create(modelPath, options);
            state = bound = new State(session, options, inputShapes!, outputShapes);
            foreach (var (name, data) in lastUploads)
            {
                bound.Inputs[name].Upload(data);
            }

            bound.Run(runOptions);
        }
    }

    public void Dispose()
    {
        state?.Dispose();
        session.Dispose();
        runOptions.Dispose();
    }

    /// <summary>A binding with its device tensors (the session belongs to the <see cref="BoundSession"/>).</summary>
    private sealed class State : IDisposable
    {
        private readonly InferenceSession session;
        private readonly OrtIoBinding binding;
        private readonly DeviceMemory memory;
        private bool outputsResolved;
        private IDisposable? produced;

        public State(InferenceSession session, RuntimeOptions options, IReadOnlyDictionary<string, long[]> inputShapes, IReadOnlyDictionary<string, long[]>? outputShapes)
        {
            this.session = session;
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

        public Dictionary<string, DeviceTensor> Inputs { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, DeviceTensor> Outputs { get; } = new(StringComparer.Ordinal);

        public void Run(RunOptions runOptions)
        {
            session.RunWithBinding(runOptions, binding);
            memory.Synchronize();
            if (outputsResolved)
            {
                return;
            }

            // The first run allocated the open outputs on the device. They stay bound where they are: with a CUDA graph,
            // ONNX Runtime captured within that same first Run call, and its replays write to exactly these addresses.
            var values = binding.GetOutputValues();
            produced = values;
            var names = binding.GetOutputNames();
            binding.ClearBoundOutputs();
            for (var i = 0; i < names.Length; i++)
            {
                if (!Outputs.TryGetValue(names[i], out var tensor))
                {
                    tensor = memory.Adopt(values.ElementAt(i));
                    Outputs[names[i]] = tensor;
                }

                binding.BindOutput(names[i], tensor.Value);
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

            produced?.Dispose();
            memory.Dispose();
        }
    }
}
