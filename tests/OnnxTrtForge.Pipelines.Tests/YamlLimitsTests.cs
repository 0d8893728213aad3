using System.Diagnostics;
using System.Text;
using OnnxTrtForge.Pipelines.Yaml;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.Pipelines.Tests;

/// <summary>Hostile YAML ends in one error at file:line:col, never in a hang, a stack overflow or a blow-up.</summary>
public sealed class YamlLimitsTests
{
    private static List<PipelineError> Load(string path)
    {
        var errors = new List<PipelineError>();
        new YamlSourceLoader(_ => null, errors).Load(path);
        return errors;
    }

    private static string Write(TempDir dir, string name, string text)
    {
        File.WriteAllText(dir.File(name), text);
        return dir.File(name);
    }

    [Fact]
    public void Nesting_deeper_than_the_limit_is_one_error_at_its_place_not_a_stack_overflow()
    {
        using var dir = Fixtures.Temp();
        var depth = 200_000;
        var path = Write(dir, "deep.yaml", "a: " + new string('[', depth) + new string(']', depth) + "\n");

        var error = Assert.Single(Load(path));

        Assert.Contains("nesting deeper than 64", error.Message, StringComparison.Ordinal);
        Assert.Equal(path, error.Where.File);
        Assert.Equal(1, error.Where.Line);
        Assert.Equal(4 + YamlSourceLoader.MaxDepth, error.Where.Column);
        Assert.Single(Load(Write(dir, "block.yaml", string.Concat(Enumerable.Range(0, 80).Select(i => new string(' ', 2 * i) + $"k{i}:\n")))));
    }

    [Fact]
    public void An_alias_bomb_is_refused_at_the_mapping_that_grows_past_the_node_limit()
    {
        using var dir = Fixtures.Temp();
        var yaml = new StringBuilder("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (var i = 1; i < 12; i++)
        {
            yaml.Append($"l{i}: &l{i} [{string.Join(", ", Enumerable.Repeat($"*l{i - 1}", 10))}]\n");
        }

        var path = Write(dir, "bomb.yaml", yaml.ToString());

        var errors = Load(path);

        var error = Assert.Single(errors);
        Assert.Contains("more than 100000 nodes", error.Message, StringComparison.Ordinal);
        Assert.Equal(5, error.Where.Line);
    }

    [Fact]
    public void An_exponential_chain_of_use_references_stops_at_the_expansion_limit()
    {
        using var dir = Fixtures.Temp();
        Write(dir, "c0.yaml", "v: {k: 1}\n");
        for (var i = 1; i < 30; i++)
        {
            Write(dir, $"c{i}.yaml", $"v:\n  a: {{use: c{i - 1}.yaml#v}}\n  b: {{use: c{i - 1}.yaml#v}}\n");
        }

        var errors = Load(dir.File("c29.yaml"));

        Assert.Contains(errors, e => e.Message.Contains("more than 1000 `use:` references", StringComparison.Ordinal) || e.Message.Contains("more than 100000 nodes", StringComparison.Ordinal));
        Assert.True(errors.Count <= 3, string.Join("\n", errors));
    }

    [Fact]
    public void Use_of_a_fifo_or_a_device_is_refused_without_reading_it()
    {
        using var dir = Fixtures.Temp();
        using (var mkfifo = Process.Start("mkfifo", dir.File("pipe.yaml")))
        {
            mkfifo.WaitForExit();
        }

        var fifo = Write(dir, "fifo.yaml", "a: {use: pipe.yaml#x}\n");
        var device = Write(dir, "device.yaml", "a: {use: /dev/zero#x}\n");

        var fifoError = Assert.Single(Load(fifo));
        var deviceError = Assert.Single(Load(device));

        Assert.Contains("not a regular file", fifoError.Message, StringComparison.Ordinal);
        Assert.Equal((1, 10), (fifoError.Where.Line, fifoError.Where.Column));
        Assert.Contains("not a regular file", deviceError.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_over_the_size_limit_is_refused_before_it_is_parsed()
    {
        using var dir = Fixtures.Temp();
        var path = Write(dir, "big.yaml", "a: \"" + new string('x', (int)YamlSourceLoader.MaxFileBytes) + "\"\n");

        var error = Assert.Single(Load(path));

        Assert.Contains("limited to 1048576 bytes", error.Message, StringComparison.Ordinal);
        Assert.Equal((1, 1), (error.Where.Line, error.Where.Column));
    }
}
