namespace OnnxTrtForge.Validation.Schedulers;

/// <summary>Which diffusers behaviour a scheduler reproduces.</summary>
public enum SchedulerSemantics
{
    /// <summary>
    /// diffusers v0.2.4 (the article): numpy float32 betas and cumprod, <c>set_timesteps(n, offset=1)</c> for PNDM and
    /// DDIM, LMS timesteps <c>linspace(999, 0, n)</c> in double and LMS steps indexed by step number.
    /// </summary>
    V024,

    /// <summary>diffusers today: torch betas (cumprod accumulated in double), <c>timestep_spacing</c>, <c>steps_offset</c>.</summary>
    Current,
}

/// <summary>Spacing of inference timesteps over the training range (diffusers <c>timestep_spacing</c>).</summary>
public enum TimestepSpacing
{
    Linspace,
    Leading,
    Trailing,
}

/// <summary>The schedulers forge implements.</summary>
public enum SchedulerKind
{
    Lms,
    Pndm,
    Ddim,
    Euler,
    EulerAncestral,
    DpmSolverPlusPlus2M,
}

/// <summary>
/// A scheduler's configuration (the fields of diffusers' scheduler configs forge honours). Null fields take the
/// scheduler class's own diffusers default.
/// </summary>
public sealed record SchedulerOptions
{
    public SchedulerKind Kind { get; init; } = SchedulerKind.Lms;

    public SchedulerSemantics Semantics { get; init; } = SchedulerSemantics.Current;

    public int NumTrainTimesteps { get; init; } = 1000;

    public double BetaStart { get; init; } = 0.00085;

    public double BetaEnd { get; init; } = 0.012;

    /// <summary><c>scaled_linear</c> (Stable Diffusion) or <c>linear</c>.</summary>
    public string BetaSchedule { get; init; } = "scaled_linear";

    /// <summary>Current semantics only; null: the class default (leading for DDIM/PNDM, linspace otherwise).</summary>
    public TimestepSpacing? TimestepSpacing { get; init; }

    /// <summary>Current semantics only; null: 0 (diffusers' default; Stable Diffusion's configs say 1).</summary>
    public int? StepsOffset { get; init; }

    /// <summary>v0.2.4 semantics only: the <c>offset</c> the v0.2.4 pipeline passes to PNDM/DDIM <c>set_timesteps</c>.</summary>
    public int Offset { get; init; } = 1;

    /// <summary>Karras sigmas (Euler, LMS, DPM-Solver++ under current semantics).</summary>
    public bool UseKarrasSigmas { get; init; }

    /// <summary>DDIM's eta (0: deterministic).</summary>
    public double Eta { get; init; }

    /// <summary>DDIM/PNDM: use 1 as the final alpha product instead of alphas_cumprod[0].</summary>
    public bool SetAlphaToOne { get; init; }

    /// <summary>Seed of the noise that Euler ancestral and DDIM with eta &gt; 0 add.</summary>
    public ulong Seed { get; init; }

    public static SchedulerKind ParseKind(string name) => name.ToLowerInvariant() switch
    {
        "lms" => SchedulerKind.Lms,
        "pndm" or "plms" => SchedulerKind.Pndm,
        "ddim" => SchedulerKind.Ddim,
        "euler" => SchedulerKind.Euler,
        "euler-a" or "euler-ancestral" => SchedulerKind.EulerAncestral,
        "dpmpp-2m" or "dpm++2m" => SchedulerKind.DpmSolverPlusPlus2M,
        _ => throw new ArgumentException($"unknown scheduler '{name}' (lms, pndm, ddim, euler, euler-a, dpmpp-2m)"),
    };

    public static string KindName(SchedulerKind kind) => kind switch
    {
        SchedulerKind.Lms => "lms",
        SchedulerKind.Pndm => "pndm",
        SchedulerKind.Ddim => "ddim",
        SchedulerKind.Euler => "euler",
        SchedulerKind.EulerAncestral => "euler-a",
        _ => "dpmpp-2m",
    };
}
