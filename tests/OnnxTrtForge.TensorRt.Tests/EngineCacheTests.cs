using OnnxTrtForge.Testing;

namespace OnnxTrtForge.TensorRt.Tests;

public sealed class EngineCacheTests
{
    private static readonly TrtVersion V = new(10, 8, 0);
    private static readonly GpuInfo Gpu = new("NVIDIA H100 80GB HBM3", "9.0");

    [Fact]
    public async Task Any_input_change_changes_the_key_and_nothing_else_does()
    {
        using var dir = Fixtures.Temp();
        var model = dir.File("model.onnx");
        var data = dir.File("model.onnx.data");
        File.WriteAllBytes(model, [1, 2, 3, 4]);
        File.WriteAllBytes(data, [5, 6, 7, 8]);
        var options = new EngineBuildOptions { Precision = Precision.Fp16, Profiles = [ShapeProfile.Fixed("sample", [2, 4, 64, 64])], WorkspaceMiB = 1024 };
        Task<EngineCacheKey> Key(EngineBuildOptions? o = null, TrtVersion? v = null, GpuInfo? g = null, bool standIn = false) =>
            EngineCache.ComputeKeyAsync(model, [data], o ?? options, v ?? V, g ?? Gpu, standIn, CancellationToken.None);

        var baseKey = await Key();
        Assert.Equal(baseKey, await Key());
        Assert.Equal(baseKey.Hash, (await Key(options with { Verbose = true, TimingCachePath = "/elsewhere" })).Hash);

        var keys = new List<string>
        {
            (await Key(options with { Precision = Precision.Fp32 })).Hash,
            (await Key(options with { Profiles = [ShapeProfile.Fixed("sample", [1, 4, 64, 64])] })).Hash,
            (await Key(options with { WorkspaceMiB = 2048 })).Hash,
            (await Key(options with { OptimizationLevel = 5 })).Hash,
            (await Key(options with { Refit = true })).Hash,
            (await Key(options with { ExtraFlags = ["--sparsity=enable"] })).Hash,
            (await Key(v: new TrtVersion(10, 9, 0))).Hash,
            (await Key(g: Gpu with { Name = "NVIDIA L4" })).Hash,
            (await Key(g: Gpu with { ComputeCapability = "8.9" })).Hash,
            (await Key(standIn: true)).Hash,
        };
        File.WriteAllBytes(model, [1, 2, 3, 5]);
        keys.Add((await Key()).Hash);
        File.WriteAllBytes(model, [1, 2, 3, 4]);
        File.WriteAllBytes(data, [5, 6, 7, 9]);
        keys.Add((await Key()).Hash);
        keys.Add(baseKey.Hash);
        Assert.Equal(keys.Count, keys.Distinct().Count());
    }

    [Fact]
    public void Timing_caches_are_kept_per_TensorRT_version_and_GPU()
    {
        using var dir = Fixtures.Temp();
        var cache = new EngineCache(dir.Path);
        var a = cache.TimingCachePath(V, Gpu);
        Assert.NotEqual(a, cache.TimingCachePath(new TrtVersion(11, 0, 0), Gpu));
        Assert.NotEqual(a, cache.TimingCachePath(V, new GpuInfo("NVIDIA L4", "8.9")));
        Assert.StartsWith(dir.Path, a, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("NVIDIA H100 80GB HBM3, 9.0\n", "NVIDIA H100 80GB HBM3", "9.0")]
    [InlineData("NVIDIA GeForce RTX 4090, 8.9\nNVIDIA GeForce RTX 4090, 8.9\n", "NVIDIA GeForce RTX 4090", "8.9")]
    [InlineData("", "none", "none")]
    public void Reads_the_first_GPU_from_nvidia_smi(string csv, string name, string cc) =>
        Assert.Equal(new GpuInfo(name, cc), NvidiaSmiGpuProbe.Parse(csv));

    [Fact]
    public async Task A_missing_nvidia_smi_means_no_GPU()
    {
        var gpu = await new NvidiaSmiGpuProbe("/nonexistent/nvidia-smi").ProbeAsync(CancellationToken.None);
        Assert.Equal(GpuInfo.None, gpu);
    }
}
