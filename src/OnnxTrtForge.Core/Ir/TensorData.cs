using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace OnnxTrtForge.Core.Ir;

/// <summary>
/// Immutable tensor payload bytes. Weights stay where they are (a slice of a memory-mapped file) until
/// something reads them; managed arrays back only tensors forge computed itself.
/// </summary>
public abstract class TensorData
{
    public abstract long Length { get; }

    /// <summary>The bytes as a span; only for payloads under 2 GiB (a single tensor never exceeds that in practice).</summary>
    public abstract ReadOnlySpan<byte> Span { get; }

    /// <summary>Streams the bytes to <paramref name="destination"/> without materializing them.</summary>
    public virtual void CopyTo(Stream destination)
    {
        const int chunk = 1 << 20;
        var span = Span;
        for (var offset = 0; offset < span.Length; offset += chunk)
        {
            destination.Write(span.Slice(offset, Math.Min(chunk, span.Length - offset)));
        }
    }

    /// <summary>Copies bytes at <paramref name="offset"/> into <paramref name="destination"/> without mapping large payloads.</summary>
    public virtual void Read(long offset, Span<byte> destination) => Span.Slice(checked((int)offset), destination.Length).CopyTo(destination);

    /// <summary>Byte-for-byte equality, compared in 1 MiB pieces through <see cref="Read"/>.</summary>
    public bool ContentEquals(TensorData other)
    {
        if (ReferenceEquals(this, other))
        {
            return true;
        }

        if (Length != other.Length)
        {
            return false;
        }

        const int chunk = 1 << 20;
        var a = new byte[(int)Math.Min(chunk, Length)];
        var b = new byte[a.Length];
        for (long done = 0; done < Length; done += chunk)
        {
            var n = (int)Math.Min(chunk, Length - done);
            Read(done, a.AsSpan(0, n));
            other.Read(done, b.AsSpan(0, n));
            if (!a.AsSpan(0, n).SequenceEqual(b.AsSpan(0, n)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>SHA-256 of the payload, streamed (never maps gigabytes into this process's resident set).</summary>
    public byte[] ComputeSha256()
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var sink = new HashSink(hash);
        CopyTo(sink);
        return hash.GetHashAndReset();
    }

    private sealed class HashSink(System.Security.Cryptography.IncrementalHash hash) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => hash.AppendData(buffer, offset, count);

        public override void Write(ReadOnlySpan<byte> buffer) => hash.AppendData(buffer);
    }

    /// <summary>Where the bytes live, for reports: "embedded", "external:FILE" or "computed".</summary>
    public abstract string Origin { get; }

    public static TensorData FromBytes(byte[] bytes) => new ManagedTensorData(bytes);

    public static readonly TensorData Empty = new ManagedTensorData(Array.Empty<byte>());
}

/// <summary>Bytes held in a managed array (computed constants, small attribute tensors).</summary>
public sealed class ManagedTensorData(ReadOnlyMemory<byte> bytes) : TensorData
{
    public override long Length => bytes.Length;

    public override ReadOnlySpan<byte> Span => bytes.Span;

    public override string Origin => "computed";
}

/// <summary>A slice of a memory-mapped file: embedded raw_data or external data.</summary>
public sealed unsafe class MappedTensorData : TensorData
{
    private readonly MappedFile file;
    private readonly long offset;

    public MappedTensorData(MappedFile file, long offset, long length, bool external)
    {
        this.file = file;
        this.offset = offset;
        Length = length;
        IsExternal = external;
    }

    public override long Length { get; }

    public bool IsExternal { get; }

    public string FilePath => file.Path;

    public long FileOffset => offset;

    public override string Origin => IsExternal ? "external:" + System.IO.Path.GetFileName(file.Path) : "embedded";

    public override ReadOnlySpan<byte> Span
    {
        get
        {
            if (Length > int.MaxValue)
            {
                throw new InvalidOperationException($"tensor payload of {Length} bytes is too large for a span");
            }

            return new ReadOnlySpan<byte>(file.Pointer + offset, (int)Length);
        }
    }

    /// <summary>Positional reads, not the map: touching a few bytes of many weights must not fault megabytes in.</summary>
    public override void Read(long offset, Span<byte> destination)
    {
        if (offset < 0 || offset + destination.Length > Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset));
        }

        for (var done = 0; done < destination.Length;)
        {
            var n = RandomAccess.Read(file.Handle, destination[done..], this.offset + offset + done);
            if (n <= 0)
            {
                throw new IOException($"{file.Path}: file ended at byte {this.offset + offset + done}");
            }

            done += n;
        }
    }

    /// <summary>
    /// Streams through ordinary reads rather than the map, so copying gigabytes of weights goes through
    /// the page cache without growing this process's resident set.
    /// </summary>
    public override void CopyTo(Stream destination)
    {
        if (destination is FileStream target && OperatingSystem.IsLinux() && KernelCopy.TryCopy(file.Handle, offset, target, Length))
        {
            return;
        }

        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            var handle = file.Handle;
            for (long done = 0; done < Length;)
            {
                var n = RandomAccess.Read(handle, buffer.AsSpan(0, (int)Math.Min(buffer.Length, Length - done)), offset + done);
                if (n <= 0)
                {
                    throw new IOException($"{file.Path}: file ended at byte {offset + done} while copying a tensor");
                }

                destination.Write(buffer, 0, n);
                done += n;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>
/// A read-only memory map of a whole file, opened lazily and shared by every tensor that slices it.
/// It stays mapped while any tensor refers to it (the finalizer of the last reference unmaps it).
/// </summary>
public sealed unsafe class MappedFile : IDisposable
{
    private readonly Lock gate = new();
    private MemoryMappedFile? map;
    private MemoryMappedViewAccessor? view;
    private byte* pointer;
    private Microsoft.Win32.SafeHandles.SafeFileHandle? handle;

    public MappedFile(string path)
    {
        Path = path;
        Length = new FileInfo(path).Length;
    }

    public string Path { get; }

    public long Length { get; }

    internal byte* Pointer
    {
        get
        {
            if (pointer == null)
            {
                Open();
            }

            return pointer;
        }
    }

    /// <summary>A read handle for streaming copies, opened on first use.</summary>
    internal Microsoft.Win32.SafeHandles.SafeFileHandle Handle
    {
        get
        {
            lock (gate)
            {
                return handle ??= File.OpenHandle(Path, FileMode.Open, FileAccess.Read, FileShare.Read);
            }
        }
    }


    private void Open()
    {
        lock (gate)
        {
            if (pointer != null)
            {
                return;
            }

            if (Length == 0)
            {
                pointer = (byte*)NativeMemory.Alloc(1);
                return;
            }

            map = MemoryMappedFile.CreateFromFile(Path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            pointer = p + view.PointerOffset;
            if (OperatingSystem.IsLinux())
            {
                // Reads of the map are sparse (protobuf tags, a tensor here and there): without this the
                // kernel's read-ahead pulls hundreds of MB of weights into the resident set.
                _ = KernelCopy.Advise((nint)p, (nuint)(Length + view.PointerOffset), KernelCopy.AdviceRandom);
            }
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            handle?.Dispose();
            handle = null;
            if (view is not null)
            {
                view.SafeMemoryMappedViewHandle.ReleasePointer();
                view.Dispose();
                map?.Dispose();
                view = null;
                map = null;
            }
            else if (pointer != null && Length == 0)
            {
                NativeMemory.Free(pointer);
            }

            pointer = null;
        }
    }
}

/// <summary>
/// File-to-file copies inside the kernel (Linux copy_file_range), as cp does: no bytes pass through
/// this process, which makes saving gigabytes of weights as fast as copying the file.
/// </summary>
internal static partial class KernelCopy
{
    public const int AdviceRandom = 1;

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    internal static partial int Advise(nint address, nuint length, int advice);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint copy_file_range(int fdIn, ref long offIn, int fdOut, ref long offOut, nuint length, uint flags);

    /// <summary>Copies <paramref name="length"/> bytes at <paramref name="offset"/> to the stream's position; false when the kernel can't (the caller falls back).</summary>
    public static bool TryCopy(Microsoft.Win32.SafeHandles.SafeFileHandle source, long offset, FileStream destination, long length)
    {
        destination.Flush();
        var outOffset = destination.Position;
        var inOffset = offset;
        var remaining = length;
        var inFd = (int)source.DangerousGetHandle();
        var outFd = (int)destination.SafeFileHandle.DangerousGetHandle();
        while (remaining > 0)
        {
            var n = copy_file_range(inFd, ref inOffset, outFd, ref outOffset, (nuint)Math.Min(remaining, 1L << 30), 0);
            if (n <= 0)
            {
                if (remaining == length)
                {
                    return false;
                }

                throw new IOException($"copy_file_range failed after {length - remaining} of {length} bytes (errno {Marshal.GetLastPInvokeError()})");
            }

            remaining -= n;
        }

        destination.Seek(outOffset, SeekOrigin.Begin);
        return true;
    }
}
