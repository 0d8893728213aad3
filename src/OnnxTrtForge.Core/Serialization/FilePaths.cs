using System.Runtime.InteropServices;
using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Serialization;

/// <summary>What a path names once symbolic links are followed.</summary>
public enum FileKind
{
    Missing,
    Regular,
    Directory,

    /// <summary>A FIFO, a device, a socket: reading it may never end.</summary>
    Special,
}

/// <summary>Path resolution the way the kernel does it: every symbolic link followed, <c>..</c> after a link applied to its target.</summary>
public static partial class FilePaths
{
    private const int MaxLinks = 40;

    /// <summary>
    /// The canonical absolute path of <paramref name="path"/> (POSIX <c>realpath</c>): links in every component
    /// are followed; components that do not exist yet are appended as written.
    /// </summary>
    public static string RealPath(string path)
    {
        var absolute = Path.IsPathRooted(path) ? path : Path.Combine(Directory.GetCurrentDirectory(), path);
        var root = Path.GetPathRoot(absolute)!;
        var pending = new Stack<string>(Split(absolute[root.Length..]).Reverse());
        var current = root;
        var links = 0;
        var missing = false;
        while (pending.TryPop(out var part))
        {
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? root;
                continue;
            }

            var next = Path.Combine(current, part);
            if (!missing && new FileInfo(next).LinkTarget is { } target)
            {
                if (++links > MaxLinks)
                {
                    throw new ForgeInputException($"{path}: too many levels of symbolic links");
                }

                if (Path.IsPathRooted(target))
                {
                    current = Path.GetPathRoot(target)!;
                    target = target[current.Length..];
                }

                foreach (var t in Split(target).Reverse())
                {
                    pending.Push(t);
                }

                continue;
            }

            missing = missing || !Path.Exists(next);
            current = next;
        }

        return current;
    }

    /// <summary>True when <paramref name="path"/> is <paramref name="folder"/> itself or lies under it (both canonical).</summary>
    public static bool IsUnder(string path, string folder) =>
        path.StartsWith(folder.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    private static string[] Split(string path) => path.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The kind of file at <paramref name="path"/>, links followed (Linux <c>statx</c>; elsewhere regular or folder only).</summary>
    public static unsafe FileKind KindOf(string path)
    {
        if (Directory.Exists(path))
        {
            return FileKind.Directory;
        }

        if (!File.Exists(path))
        {
            return FileKind.Missing;
        }

        if (!OperatingSystem.IsLinux())
        {
            return FileKind.Regular;
        }

        // struct statx keeps stx_mode (u16) at byte 28 on every architecture
        var buffer = stackalloc byte[256];
        if (Statx(AtFdCwd, path, 0, StatxType, buffer) != 0)
        {
            return FileKind.Missing;
        }

        var mode = *(ushort*)(buffer + 28) & 0xF000;
        return mode switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            _ => FileKind.Special,
        };
    }

    private const int AtFdCwd = -100;
    private const uint StatxType = 1;

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int dirFd, string path, int flags, uint mask, byte* buffer);
}
