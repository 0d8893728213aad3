using System.Text.RegularExpressions;
using OnnxTrtForge.Testing;

namespace OnnxTrtForge.Pipelines.Tests;

/// <summary>
/// Each file in Broken/ states the errors it must produce in <c># expect: LINE:COL message</c>
/// comments; loading it must report exactly those places, all in one run, and nothing must run.
/// </summary>
public sealed partial class BrokenPipelineTests
{
    public static string BrokenDir => Path.Combine(Fixtures.RepoRoot, "tests", "OnnxTrtForge.Pipelines.Tests", "Broken");

    public static TheoryData<string> Files() => [.. Directory.GetFiles(BrokenDir, "*.yaml").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(Files))]
    public void Broken_pipeline_reports_every_expected_error_at_its_line_and_column(string name)
    {
        var file = Path.Combine(BrokenDir, name);
        var expected = File.ReadLines(file).Select(l => ExpectPattern().Match(l)).Where(m => m.Success)
            .Select(m => (Line: long.Parse(m.Groups["line"].Value), Column: long.Parse(m.Groups["col"].Value), Text: m.Groups["text"].Value.Trim()))
            .ToList();
        Assert.NotEmpty(expected);

        var error = Assert.Throws<PipelineValidationException>(() => PipelineLoader.Load(file, Options()));

        var actual = error.Errors.Select(e => $"{e.Where.Line}:{e.Where.Column} {e.Message}").ToList();
        Assert.All(error.Errors, e => Assert.Equal(file, e.Where.File));
        Assert.Equal(expected.Count, error.Errors.Count);
        foreach (var (line, column, text) in expected)
        {
            Assert.True(
                error.Errors.Any(e => e.Where.Line == line && e.Where.Column == column && e.Message.Contains(text, StringComparison.Ordinal)),
                $"expected {line}:{column} '{text}' in:\n{string.Join("\n", actual)}");
        }
    }

    [Fact]
    public void One_file_with_every_kind_of_mistake_reports_all_of_them_in_one_run()
    {
        var error = Assert.Throws<PipelineValidationException>(() => PipelineLoader.Load(Path.Combine(BrokenDir, "all-at-once.yaml"), Options()));

        Assert.Equal(8, error.Errors.Count);
        Assert.Equal(error.Errors.OrderBy(e => e.Where.Line).ThenBy(e => e.Where.Column), error.Errors);
        var lines = error.Message.Split(Environment.NewLine);
        Assert.Equal(9, lines.Length);
        Assert.All(lines.Skip(1), l => Assert.Matches(@"all-at-once\.yaml:\d+:\d+: ", l));
    }

    internal static PipelineLoadOptions Options(Dictionary<string, string>? env = null) => new()
    {
        Environment = name => env?.GetValueOrDefault(name) ?? (name == "PATH" ? Environment.GetEnvironmentVariable("PATH") : null),
        WorkingDirectory = Path.GetTempPath(),
    };

    [GeneratedRegex(@"^# expect: (?<line>\d+):(?<col>\d+) (?<text>.*)$")]
    private static partial Regex ExpectPattern();
}
