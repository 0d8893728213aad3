using OnnxTrtForge.Testing;

namespace OnnxTrtForge.TensorRt.Tests;

/// <summary>Cache entries are self-contained and verified on read: a stale or corrupt one is rebuilt with a note, never a failure.</summary>
public sealed class EngineCacheEntryTests
{
    private static readonly string Fp32 = Fixtures.Model("tiny_unet_opset12_fp32");

    private static EngineBuildRequest Request(string model, string engine, string cache) =>
        new(model, engine, new EngineBuildOptions()) { CacheDir = cache };

    private static string CopyModel(string folder)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, "model.onnx");
        File.Copy(Fp32, path);
        return path;
    }

    [Fact]
    public async Task An_entry_serves_and_runs_after_the_onnx_it_was_built_from_is_gone()
    {
        using var dir = Fixtures.Temp();
        var tool = await StandIn.ToolAsync(dir.Path);
        var builder = new EngineBuilder(tool, new TestGpu());
        var cache = dir.File("cache");
        var first = CopyModel(dir.File("first"));
        Assert.IsType<EngineBuildSuccess>(await builder.BuildAsync(Request(first, dir.File("a.trt"), cache), null, CancellationToken.None));
        Directory.Delete(dir.File("first"), recursive: true);

        var again = Assert.IsType<EngineBuildSuccess>(await builder.BuildAsync(Request(CopyModel(dir.File("second")), dir.File("b.trt"), cache), null, CancellationToken.None));
        Directory.Delete(dir.File("second"), recursive: true);
        var bench = await new EngineBench(tool).RunAsync(new BenchRequest(dir.File("b.trt"), new BenchOptions { Iterations = 2, WarmUpMs = 0 }), null, CancellationToken.None);

        Assert.True(again.CacheHit);
        Assert.Empty(again.Notes);
        Assert.IsType<BenchSuccess>(bench);
    }

    [Theory]
    [InlineData("flip")]
    [InlineData("truncate")]
    [InlineData("metadata")]
    [InlineData("old-entry")]
    [InlineData("no-engine")]
    public async Task A_corrupt_or_stale_entry_is_rebuilt_with_a_note(string damage)
    {
        using var dir = Fixtures.Temp();
        var builder = new EngineBuilder(await StandIn.ToolAsync(dir.Path), new TestGpu());
        var request = Request(Fp32, dir.File("a.trt"), dir.File("cache"));
        var first = Assert.IsType<EngineBuildSuccess>(await builder.BuildAsync(request, null, CancellationToken.None));
        var cache = new EngineCache(dir.File("cache"));
        var engine = cache.EnginePath(first.CacheKey!);
        var entry = cache.EntryPath(first.CacheKey!);
        switch (damage)
        {
            case "flip":
                var bytes = File.ReadAllBytes(engine);
                bytes[^1] ^= 0x55;
                File.WriteAllBytes(engine, bytes);
                break;
            case "truncate":
                File.WriteAllBytes(engine, File.ReadAllBytes(engine)[..100]);
                break;
            case "metadata":
                File.WriteAllText(entry, "{ not json");
                break;
            case "old-entry":
                File.WriteAllText(entry, File.ReadAllText(entry).Replace("\"engineSha256\"", "\"unknownField\"", StringComparison.Ordinal));
                break;
            case "no-engine":
                File.Delete(engine);
                break;
        }

        Assert.NotNull(cache.Lookup(first.CacheKey!).Stale);
        var rebuilt = Assert.IsType<EngineBuildSuccess>(await builder.BuildAsync(request with { EnginePath = dir.File("b.trt") }, null, CancellationToken.None));
        var served = Assert.IsType<EngineBuildSuccess>(await builder.BuildAsync(request with { EnginePath = dir.File("c.trt") }, null, CancellationToken.None));

        Assert.False(rebuilt.CacheHit);
        Assert.Contains(rebuilt.Notes, n => n.Contains("stale or corrupt", StringComparison.Ordinal) && n.Contains("rebuilding", StringComparison.Ordinal));
        Assert.True(served.CacheHit);
        Assert.Empty(served.Notes);
        Assert.Equal(File.ReadAllBytes(dir.File("b.trt")), File.ReadAllBytes(dir.File("c.trt")));
    }
}
