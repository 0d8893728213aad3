namespace OnnxTrtForge.TensorRt.Tests;

public sealed class TrtVersionTests
{
    [Theory]
    [InlineData("&&&& RUNNING TensorRT.trtexec [TensorRT v8503] # trtexec --onnx=a.onnx", 8, 5, 3)]
    [InlineData("&&&& RUNNING TensorRT.trtexec [TensorRT v8601] # trtexec", 8, 6, 1)]
    [InlineData("&&&& PASSED TensorRT.trtexec [TensorRT v100800] # trtexec", 10, 8, 0)]
    [InlineData("&&&& RUNNING TensorRT.trtexec [TensorRT v110000] # trtexec --help", 11, 0, 0)]
    [InlineData("[02/11/2025-14:02:11] [I] TensorRT version: 10.3.0", 10, 3, 0)]
    public void Reads_the_version_from_banner_and_log_lines(string line, int major, int minor, int patch) =>
        Assert.Equal(new TrtVersion(major, minor, patch), TrtVersion.FromLogLine(line));

    [Theory]
    [InlineData("8.6", 8, 6, 0)]
    [InlineData("10.8.0", 10, 8, 0)]
    [InlineData("v100800", 10, 8, 0)]
    [InlineData("11", 11, 0, 0)]
    public void Parses_configured_versions(string text, int major, int minor, int patch)
    {
        Assert.True(TrtVersion.TryParse(text, out var v));
        Assert.Equal(new TrtVersion(major, minor, patch), v);
    }

    [Fact]
    public void Orders_versions_numerically()
    {
        Assert.True(new TrtVersion(10, 0, 0) > new TrtVersion(8, 6, 1));
        Assert.True(new TrtVersion(8, 6, 1).IsAtLeast(8, 6));
        Assert.False(new TrtVersion(8, 5, 3).IsAtLeast(8, 6));
        Assert.Null(TrtVersion.FromLogLine("[I] Starting inference"));
    }
}
