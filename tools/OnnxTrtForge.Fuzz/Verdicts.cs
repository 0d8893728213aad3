namespace OnnxTrtForge.Fuzz;

/// <summary>The verdicts of a case (the table is in Program.cs's header); the findings fail the run.</summary>
internal static class Verdicts
{
    public const string Ok = "ok";
    public const string Refused = "refused";
    public const string BothRefused = "both-refused";
    public const string Repaired = "repaired";
    public const string Unchecked = "unchecked";
    public const string Fp16Reordered = "fp16-reordered";
    public const string OrtTimeout = "ort-timeout";
    public const string Crash = "crash";
    public const string Hang = "hang";
    public const string BadOutput = "bad-output";
    public const string WrongOutput = "wrong-output";
    public const string OrtCrash = "ort-crash";
    public const string ReferenceCrash = "reference-crash";
    public const string HarnessError = "harness-error";

    public static bool IsFinding(string verdict) => verdict is Crash or Hang or BadOutput or WrongOutput or OrtCrash or HarnessError;

    /// <summary>Listed in the summary for a look, without failing the run.</summary>
    public static bool IsListed(string verdict) => verdict is Repaired or Unchecked or OrtTimeout or Fp16Reordered or ReferenceCrash;
}
