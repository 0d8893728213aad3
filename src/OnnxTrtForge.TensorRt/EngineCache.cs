using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using OnnxTrtForge.Core.Reports;

namespace OnnxTrtForge.TensorRt;

/// <summary>The content key of an engine and the text it hashes (kept for reports and debugging).</summary>
public sealed record EngineCacheKey(string Hash, string Material);

/// <summary>
/// What the cache remembers about an engine besides its bytes: the text its key hashes (ONNX and external
/// data hashes, options, TensorRT, GPU) and the engine's own hash and length, so an entry is checked on
/// every read and needs nothing outside the cache (<see cref="Onnx"/> only says where it was built from).
/// </summary>
public sealed record EngineCacheEntry(string Key, string Onnx, string TensorRtVersion, string Gpu, bool StandIn, DateTimeOffset Created, double? BuildSeconds, double? EngineSizeMiB)
{
    public string? KeyMaterial { get; init; }

    public string? EngineSha256 { get; init; }

    public long? EngineBytes { get; init; }
}

/// <summary>A cache lookup: the verified entry, or why an entry that exists cannot be used (it is then rebuilt).</summary>
public sealed record EngineCacheLookup(EngineCacheEntry? Entry, string? Stale)
{
    public static readonly EngineCacheLookup Miss = new(null, null);
}

/// <summary>
/// Engines cached by content: the key hashes the ONNX bytes (external data files included), the build
/// options, the shape profiles, the TensorRT version, whether trtexec is a stand-in, and the GPU (name and
/// compute capability). Timing
/// caches live per TensorRT version and GPU. Layout: <c>engines/KEY.trt</c> + <c>KEY.json</c>,
/// <c>timing/trt-VERSION/GPU-ccCC.cache</c>.
/// </summary>
public sealed class EngineCache(string root)
{
    public string Root { get; } = Path.GetFullPath(root);

    /// <summary>The per-user default: $XDG_CACHE_HOME/forge or ~/.cache/forge.</summary>
    /// <summary>The engine cache folder: <c>$FORGE_CACHE</c>, else <c>$XDG_CACHE_HOME/forge</c>, else <c>~/.cache/forge</c>.</summary>
    public static string DefaultRoot()
    {
        if (Environment.GetEnvironmentVariable("FORGE_CACHE") is { Length: > 0 } forgeCache)
        {
            return Path.GetFullPath(forgeCache);
        }

        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var baseDir = string.IsNullOrEmpty(xdg) ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache") : xdg;
        return Path.Combine(baseDir, "forge");
    }

    public static async Task<EngineCacheKey> ComputeKeyAsync(string onnxPath, IEnumerable<string> externalDataFiles, EngineBuildOptions options, TrtVersion version, GpuInfo gpu, bool standIn, CancellationToken ct)
    {
        var material = new StringBuilder();
        material.Append("forge-engine-cache v1\n");
        material.Append("onnx sha256 ").Append(await HashFileAsync(onnxPath, ct)).Append('\n');
        var modelDir = Path.GetDirectoryName(Path.GetFullPath(onnxPath))!;
        foreach (var file in externalDataFiles.Select(Path.GetFullPath).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            material.Append("external ").Append(Path.GetRelativePath(modelDir, file)).Append(" sha256 ").Append(await HashFileAsync(file, ct)).Append('\n');
        }

        material.Append("tensorrt ").Append(version.ToString()).Append('\n');
        material.Append("trtexec ").Append(standIn ? "stand-in" : "real").Append('\n');
        material.Append("gpu ").Append(gpu.Name).Append(" cc ").Append(gpu.ComputeCapability).Append('\n');
        material.Append(options.CanonicalText()).Append('\n');
        var text = material.ToString();
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
        return new EngineCacheKey(hash, text);
    }

    public static async Task<string> HashFileAsync(string path, CancellationToken ct)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
    }

    public string EnginePath(EngineCacheKey key) => Path.Combine(Root, "engines", key.Hash + ".trt");

    public string EntryPath(EngineCacheKey key) => Path.Combine(Root, "engines", key.Hash + ".json");

    public string LayerInfoPath(EngineCacheKey key) => Path.Combine(Root, "engines", key.Hash + ".layers.json");

    /// <summary>The timing cache for one TensorRT version on one GPU model.</summary>
    public string TimingCachePath(TrtVersion version, GpuInfo gpu)
    {
        var gpuName = new string(gpu.Name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' ? c : '_').ToArray());
        var cc = new string(gpu.ComputeCapability.Select(c => char.IsAsciiLetterOrDigit(c) || c == '.' ? c : '_').ToArray());
        return Path.Combine(Root, "timing", "trt-" + version, gpuName + "-cc" + cc + ".cache");
    }

    public EngineCacheEntry? Find(EngineCacheKey key) => Lookup(key).Entry;

    /// <summary>
    /// Reads and verifies the entry for <paramref name="key"/>: its metadata names this key and the same key
    /// material, and the engine file has the length and SHA-256 recorded when it was stored. Anything else
    /// (a half-written, truncated, edited or older entry) is reported as stale, never thrown.
    /// </summary>
    public EngineCacheLookup Lookup(EngineCacheKey key)
    {
        var engine = EnginePath(key);
        var entryPath = EntryPath(key);
        var hasEngine = File.Exists(engine);
        var hasEntry = File.Exists(entryPath);
        if (!hasEngine && !hasEntry)
        {
            return EngineCacheLookup.Miss;
        }

        if (!hasEngine || !hasEntry)
        {
            return Stale(key, hasEngine ? "its metadata is missing" : "its engine file is missing");
        }

        EngineCacheEntry? entry;
        try
        {
            entry = JsonSerializer.Deserialize(File.ReadAllText(entryPath), TensorRtJson.Reports.EngineCacheEntry);
        }
        catch (Exception e) when (e is JsonException or IOException or NotSupportedException)
        {
            return Stale(key, "its metadata cannot be read");
        }

        if (entry is null || entry.Key != key.Hash || entry.KeyMaterial is null || entry.EngineSha256 is null)
        {
            return Stale(key, "its metadata does not describe this key (an older or edited entry)");
        }

        if (!string.Equals(entry.KeyMaterial, key.Material, StringComparison.Ordinal))
        {
            return Stale(key, "it was made from other inputs than its name says");
        }

        try
        {
            using var stream = new FileStream(engine, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            if (stream.Length != entry.EngineBytes)
            {
                return Stale(key, $"its engine is {stream.Length} bytes, {entry.EngineBytes} were stored");
            }

            if (!string.Equals(Convert.ToHexStringLower(SHA256.HashData(stream)), entry.EngineSha256, StringComparison.Ordinal))
            {
                return Stale(key, "its engine bytes do not match their recorded hash");
            }
        }
        catch (IOException e)
        {
            return Stale(key, "its engine cannot be read: " + e.Message);
        }

        return new EngineCacheLookup(entry, null);
    }

    private static EngineCacheLookup Stale(EngineCacheKey key, string why) =>
        new(null, $"cache entry {key.Hash[..16]} is stale or corrupt ({why}); rebuilding");

    /// <summary>Copies a freshly built engine into the cache (atomically, so a concurrent reader never sees half of it).</summary>
    public void Store(EngineCacheKey key, string enginePath, EngineCacheEntry entry, string? layerInfoPath = null)
    {
        if (layerInfoPath is not null && File.Exists(layerInfoPath))
        {
            AtomicFile.Write(LayerInfoPath(key), tmp => File.Copy(layerInfoPath, tmp, overwrite: true));
        }

        string? sha = null;
        long length = 0;
        AtomicFile.Write(EnginePath(key), tmp =>
        {
            File.Copy(enginePath, tmp, overwrite: true);
            using var copy = File.OpenRead(tmp);
            length = copy.Length;
            sha = Convert.ToHexStringLower(SHA256.HashData(copy));
        });
        AtomicFile.WriteAllText(EntryPath(key), ReportJson.Serialize(entry with { KeyMaterial = key.Material, EngineSha256 = sha, EngineBytes = length }, TensorRtJson.Reports.EngineCacheEntry));
    }

    /// <summary>Places the cached engine at <paramref name="destination"/> (a hard link would alias the cache; a copy cannot).</summary>
    public void CopyOut(EngineCacheKey key, string destination) =>
        AtomicFile.Write(destination, tmp => File.Copy(EnginePath(key), tmp, overwrite: true));
}
