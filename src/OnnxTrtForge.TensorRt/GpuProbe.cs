using System.Text;
using CliWrap;

namespace OnnxTrtForge.TensorRt;

/// <summary>The GPU an engine is built for; engines and timing caches are valid for one model of GPU only.</summary>
public sealed record GpuInfo(string Name, string ComputeCapability)
{
    public static readonly GpuInfo None = new("none", "none");

    public override string ToString() => Name == "none" ? "none" : $"{Name} (compute capability {ComputeCapability})";
}

/// <summary>Finds the GPU. Injectable so tests can pretend to run on other hardware.</summary>
public interface IGpuProbe
{
    Task<GpuInfo> ProbeAsync(CancellationToken ct);
}

/// <summary>A probe that always answers the same (tests, or a GPU named in config).</summary>
public sealed class FixedGpuProbe(GpuInfo gpu) : IGpuProbe
{
    public Task<GpuInfo> ProbeAsync(CancellationToken ct) => Task.FromResult(gpu);
}

/// <summary>Asks <c>nvidia-smi --query-gpu=name,compute_cap --format=csv,noheader</c>; "none" when absent or failing.</summary>
public sealed class NvidiaSmiGpuProbe(string executable = "nvidia-smi") : IGpuProbe
{
    public async Task<GpuInfo> ProbeAsync(CancellationToken ct)
    {
        var output = new StringBuilder();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            var result = await Cli.Wrap(executable)
                .WithArguments(["--query-gpu=name,compute_cap", "--format=csv,noheader"])
                .WithValidation(CommandResultValidation.None)
                .WithStandardOutputPipe(PipeTarget.ToStringBuilder(output))
                .ExecuteAsync(timeout.Token);
            return result.ExitCode == 0 ? Parse(output.ToString()) : GpuInfo.None;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return GpuInfo.None;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return GpuInfo.None;
        }
    }

    /// <summary>Reads the first GPU of nvidia-smi's CSV answer ("NVIDIA H100 80GB HBM3, 9.0").</summary>
    public static GpuInfo Parse(string csv)
    {
        var first = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        if (first is null)
        {
            return GpuInfo.None;
        }

        var comma = first.LastIndexOf(',');
        return comma < 0 ? new GpuInfo(first, "unknown") : new GpuInfo(first[..comma].Trim(), first[(comma + 1)..].Trim());
    }
}
