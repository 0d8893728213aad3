namespace OnnxTrtForge.Validation.Schedulers;

/// <summary>Creates the scheduler an options record names.</summary>
public static class SchedulerFactory
{
    public static IScheduler Create(SchedulerOptions options) => options.Kind switch
    {
        SchedulerKind.Lms => new LmsScheduler(options),
        SchedulerKind.Pndm => new PndmScheduler(options),
        SchedulerKind.Ddim => new DdimScheduler(options),
        SchedulerKind.Euler => Current(options, o => new EulerScheduler(o)),
        SchedulerKind.EulerAncestral => Current(options, o => new EulerAncestralScheduler(o)),
        _ => new DpmSolverScheduler(options),
    };

    private static IScheduler Current(SchedulerOptions options, Func<SchedulerOptions, IScheduler> create) =>
        options.Semantics == SchedulerSemantics.V024
            ? throw new ArgumentException($"{SchedulerOptions.KindName(options.Kind)} did not exist in diffusers v0.2.4; use current semantics")
            : create(options);

    /// <summary>The semantics forge uses when none is asked for: v0.2.4 (the article) for LMS, PNDM and DDIM, current otherwise.</summary>
    public static SchedulerSemantics DefaultSemantics(SchedulerKind kind) =>
        kind is SchedulerKind.Lms or SchedulerKind.Pndm or SchedulerKind.Ddim ? SchedulerSemantics.V024 : SchedulerSemantics.Current;
}
