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

    public override void CopyTo(Stream destination)
    {
        const int chunk = 1 << 20;
        for (long done = 0; done < Length; done += chunk)
        {
            var n = (int)Math.Min(chunk, Length - done);
            destination.Write(new ReadOnlySpan<byte>(file.Pointer + offset + done, n));
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

    /// <summary>The whole file as a span (only for files under 2 GiB).</summary>
    public ReadOnlySpan<byte> Span(long offset, int length) => new(Pointer + offset, length);

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
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
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
