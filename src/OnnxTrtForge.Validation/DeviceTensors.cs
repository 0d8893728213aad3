using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Validation;

/// <summary>
/// Where a session's bound tensors live: host memory for the CPU provider, the GPU's memory (ONNX Runtime's "Cuda"
/// allocator of the session) for the CUDA provider. Tensors are allocated once and filled by explicit copies, so a run
/// through an <see cref="OrtIoBinding"/> moves nothing between host and device but what the caller copies.
/// </summary>
public sealed class DeviceMemory : IDisposable
{
    private readonly OrtMemoryInfo? cudaInfo;
    private readonly OrtAllocator? cudaAllocator;

    public DeviceMemory(InferenceSession session, RuntimeOptions options)
    {
        Device = options.Device;
        DeviceId = options.DeviceId;
        if (Device == ExecutionDevice.Cuda)
        {
            cudaInfo = new OrtMemoryInfo("Cuda", OrtAllocatorType.DeviceAllocator, options.DeviceId, OrtMemType.Default);
            cudaAllocator = new OrtAllocator(session, cudaInfo);
        }
    }

    public ExecutionDevice Device { get; }

    public int DeviceId { get; }

    /// <summary>The memory info outputs of unknown shape are bound to (ONNX Runtime allocates them there).</summary>
    public OrtMemoryInfo Info => cudaInfo ?? OrtMemoryInfo.DefaultInstance;

    /// <summary>A tensor of the given type and shape in this memory, contents undefined until written.</summary>
    public DeviceTensor Allocate(TensorElementType type, long[] dims)
    {
        var bytes = checked(dims.Aggregate(1L, (a, d) => a * d) * ElementSize(type));
        if (cudaAllocator is null)
        {
            return new DeviceTensor(this, OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, type, dims), null, type, dims, bytes);
        }

        // at least one byte: a zero-sized allocation has no address to bind
        var allocation = cudaAllocator.Allocate((uint)Math.Max(1, bytes));
        try
        {
            var value = OrtValue.CreateTensorValueWithData(cudaAllocator.Info, type, dims, allocation.DangerousGetHandle(), bytes);
            return new DeviceTensor(this, value, allocation, type, dims, bytes);
        }
        catch
        {
            allocation.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Takes a tensor ONNX Runtime allocated in this memory (an output it produced) as a device tensor, so that it can be
    /// bound again at the same address: a CUDA graph captured on the run that produced it writes there on every replay.
    /// The OrtValue stays owned by the caller.
    /// </summary>
    public DeviceTensor Adopt(OrtValue value)
    {
        var info = value.GetTensorTypeAndShape();
        var bytes = info.ElementCount * ElementSize(info.ElementDataType);
        return new DeviceTensor(this, value, null, info.ElementDataType, info.Shape, bytes, ownsValue: false);
    }

    /// <summary>Copies host bytes into a device tensor (synchronous: the data is on the device when this returns).</summary>
    internal void Upload(DeviceTensor target, ReadOnlySpan<byte> source)
    {
        if (cudaAllocator is null)
        {
            source.CopyTo(target.Value.GetTensorMutableRawData());
            return;
        }

        CudaRuntime.CopyToDevice(DeviceId, target.Address, source);
    }

    /// <summary>Copies a device tensor into host bytes; call after the run that wrote it has returned.</summary>
    internal void Download(DeviceTensor source, Span<byte> target)
    {
        if (cudaAllocator is null)
        {
            source.Value.GetTensorMutableRawData().CopyTo(target);
            return;
        }

        CudaRuntime.CopyToHost(DeviceId, target, source.Address);
    }

    /// <summary>Waits for everything queued on the device (no-op on CPU), so a timed run is a finished run.</summary>
    public void Synchronize()
    {
        if (cudaAllocator is not null)
        {
            CudaRuntime.Synchronize(DeviceId);
        }
    }

    public static long ElementSize(TensorElementType type) => type switch
    {
        TensorElementType.Float or TensorElementType.Int32 or TensorElementType.UInt32 => 4,
        TensorElementType.Double or TensorElementType.Int64 or TensorElementType.UInt64 => 8,
        TensorElementType.Float16 or TensorElementType.BFloat16 or TensorElementType.Int16 or TensorElementType.UInt16 => 2,
        TensorElementType.Bool or TensorElementType.Int8 or TensorElementType.UInt8 => 1,
        _ => throw new ForgeInputException($"tensors of element type {type} cannot be bound to device buffers"),
    };

    public void Dispose()
    {
        cudaAllocator?.Dispose();
        cudaInfo?.Dispose();
    }
}

/// <summary>One tensor allocated in a <see cref="DeviceMemory"/>: its OrtValue (to bind) and its size.</summary>
public sealed class DeviceTensor : IDisposable
{
    private readonly DeviceMemory memory;

    private readonly OrtMemoryAllocation? allocation;
    private readonly bool ownsValue;

    internal DeviceTensor(DeviceMemory memory, OrtValue value, OrtMemoryAllocation? allocation, TensorElementType type, long[] dims, long bytes, bool ownsValue = true)
    {
        this.memory = memory;
        this.allocation = allocation;
        this.ownsValue = ownsValue;
        Value = value;
        ElementType = type;
        Dims = dims;
        ByteLength = bytes;
        Address = allocation?.DangerousGetHandle() ?? (memory.Device == ExecutionDevice.Cuda ? DataAddress(value) : 0);
    }

    public OrtValue Value { get; }

    public TensorElementType ElementType { get; }

    public long[] Dims { get; }

    public long ByteLength { get; }

    /// <summary>The data's address in device memory (CUDA); never read through on the host.</summary>
    internal nint Address { get; }

    /// <summary>A tensor's data pointer, taken without reading through it (for a CUDA tensor it is a device address).</summary>
    private static unsafe nint DataAddress(OrtValue value) =>
        (nint)System.Runtime.CompilerServices.Unsafe.AsPointer(ref MemoryMarshal.GetReference(value.GetTensorMutableRawData()));

    public void Upload(ReadOnlySpan<byte> source)
    {
        if (source.Length != ByteLength)
        {
            throw new ArgumentException($"{source.Length} bytes for a tensor of {ByteLength}", nameof(source));
        }

        memory.Upload(this, source);
    }

    public void Upload<T>(ReadOnlySpan<T> source)
        where T : unmanaged => Upload(MemoryMarshal.AsBytes(source));

    public void Download(Span<byte> target)
    {
        if (target.Length != ByteLength)
        {
            throw new ArgumentException($"{target.Length} bytes for a tensor of {ByteLength}", nameof(target));
        }

        memory.Download(this, target);
    }

    public void Download<T>(Span<T> target)
        where T : unmanaged => Download(MemoryMarshal.AsBytes(target));

    public void Dispose()
    {
        if (ownsValue)
        {
            Value.Dispose();
        }

        allocation?.Dispose();
    }
}

/// <summary>
/// The few CUDA runtime calls forge needs to move bound tensors between host and device (cudaMemcpy), from the CUDA 13
/// runtime ONNX Runtime's CUDA provider itself loads. Copies are synchronous and followed by a device synchronisation,
/// so they are ordered with ONNX Runtime's own (non-blocking) stream: a run starts after its inputs have landed.
/// </summary>
internal static partial class CudaRuntime
{
    private const string Library = "libcudart.so.13";

    private const int HostToDevice = 1;
    private const int DeviceToHost = 2;

    public static unsafe void CopyToDevice(int deviceId, nint destination, ReadOnlySpan<byte> source)
    {
        Check(cudaSetDevice(deviceId), "cudaSetDevice");
        fixed (byte* p = source)
        {
            Check(cudaMemcpy(destination, (nint)p, (nuint)source.Length, HostToDevice), "cudaMemcpy host→device");
        }

        Check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    }

    public static void Synchronize(int deviceId)
    {
        Check(cudaSetDevice(deviceId), "cudaSetDevice");
        Check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    }

    public static unsafe void CopyToHost(int deviceId, Span<byte> destination, nint source)
    {
        Check(cudaSetDevice(deviceId), "cudaSetDevice");
        Check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
        fixed (byte* p = destination)
        {
            Check(cudaMemcpy((nint)p, source, (nuint)destination.Length, DeviceToHost), "cudaMemcpy device→host");
        }
    }

    private static void Check(int status, string call)
    {
        if (status != 0)
        {
            var name = Marshal.PtrToStringAnsi(cudaGetErrorString(status)) ?? $"error {status}";
            throw new InvalidOperationException($"{call} failed: {name}");
        }
    }

    [LibraryImport(Library)]
    private static partial int cudaSetDevice(int device);

    [LibraryImport(Library)]
    private static partial int cudaMemcpy(nint dst, nint src, nuint count, int kind);

    [LibraryImport(Library)]
    private static partial int cudaDeviceSynchronize();

    [LibraryImport(Library)]
    private static partial nint cudaGetErrorString(int error);
}
