using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.TensorRt.Tests;

public sealed class TrtexecToolTests
{
    private static string Script(TempDir dir, string name, string body)
    {
        var path = dir.File(name);
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return path;
    }

    [Theory]
    [InlineData("8.6", 8, 6)]
    [InlineData("10.8", 10, 8)]
    [InlineData("11.0", 11, 0)]
    public async Task Detects_the_version_and_the_stand_in_from_the_help_banner(string version, int major, int minor)
    {
        using var dir = Fixtures.Temp();
        var tool = await StandIn.ToolAsync(dir.Path, version);
        Assert.Equal(new TrtVersion(major, minor, 0), tool.Version);
        Assert.True(tool.IsStandIn);
    }

    [Fact]
    public async Task A_real_looking_trtexec_is_not_a_stand_in_and_a_configured_version_wins()
    {
        using var dir = Fixtures.Temp();
        var path = Script(dir, "trtexec", "echo '&&&& RUNNING TensorRT.trtexec [TensorRT v100300] # trtexec --help'\necho '=== Model Options ==='");
        var detected = await TrtexecTool.DetectAsync(path, null, CancellationToken.None);
        Assert.Equal(new TrtVersion(10, 3, 0), detected.Version);
        Assert.False(detected.IsStandIn);
        Assert.Equal(new TrtVersion(8, 6, 1), (await TrtexecTool.DetectAsync(path, new TrtVersion(8, 6, 1), CancellationToken.None)).Version);
    }

    [Fact]
    public async Task A_trtexec_that_keeps_running_after_its_banner_is_stopped_and_detected()
    {
        using var dir = Fixtures.Temp();
        var path = Script(dir, "trtexec", "echo '&&&& RUNNING TensorRT.trtexec [TensorRT v110000] # trtexec --help'\necho '[I] a stand-in'\nexec sleep 600");
        var started = DateTime.UtcNow;
        var tool = await TrtexecTool.DetectAsync(path, null, CancellationToken.None);
        Assert.Equal(11, tool.Version.Major);
        Assert.True(tool.IsStandIn);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Without_a_banner_or_a_configured_version_detection_fails_with_one_line()
    {
        using var dir = Fixtures.Temp();
        var path = Script(dir, "trtexec", "echo 'usage: something else'");
        var e = await Assert.ThrowsAsync<ForgeInputException>(() => TrtexecTool.DetectAsync(path, null, CancellationToken.None));
        Assert.Contains("--trt-version", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Finds_trtexec_on_PATH_or_says_it_is_missing()
    {
        using var dir = Fixtures.Temp();
        Assert.Null(TrtexecTool.FindOnPath(dir.Path));
        var path = Script(dir, "trtexec", "exit 0");
        Assert.Equal(path, TrtexecTool.FindOnPath("/nonexistent" + Path.PathSeparator + dir.Path));
        Assert.Throws<ForgeInputException>(() => TrtexecTool.Locate(dir.File("missing")));
    }
}
