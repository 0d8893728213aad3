using System.CommandLine;
using System.Globalization;
using OnnxTrtForge.Core;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Validation;

namespace OnnxTrtForge.Cli;

/// <summary>
/// <c>forge validate --reference REF.onnx --candidate CAND.onnx|CAND.trt (loop options) [--device cpu|cuda]
/// [--tolerance X] [--latent-tolerance Y] [--report R.json|R.md] [--decoder VAE.onnx --image OUT.png] [--trtexec PATH]
/// [--engine-onnx BUILT_FROM.onnx]</c>:
/// both models run the same loop from the same latents, every step compared; exit 5 when out of tolerance.
/// </summary>
internal static class ValidateCommand
{
    public static Command Create()
    {
        var reference = CliConventions.MustBeFile(new Option<string>("--reference") { Description = "The reference UNet (ONNX).", Required = true });
        var candidate = CliConventions.MustBeFile(new Option<string>("--candidate") { Description = "The candidate: an ONNX model, or a TensorRT engine (.trt/.engine/.plan) run through trtexec.", Required = true });
        var tolerance = new Option<double>("--tolerance") { Description = "Largest relative L2 of a step's noise prediction.", DefaultValueFactory = _ => new ValidationTolerance().NoiseRelativeL2 };
        var latentTolerance = new Option<double>("--latent-tolerance") { Description = "Largest relative L2 drift of the latents at any step.", DefaultValueFactory = _ => new ValidationTolerance().LatentRelativeL2 };
        var report = CliConventions.ReportOption("Write the per-step report");
        var decoder = CliConventions.MustBeFile(new Option<string?>("--decoder") { Description = "A VAE decoder (ONNX) to decode both final latents." });
        var image = CliConventions.MustBeFile(new Option<string?>("--image") { Description = "With --decoder: PNG of reference | candidate | amplified difference." });
        var trtexec = new Option<string?>("--trtexec") { Description = "trtexec for engine candidates (default: trtexec on PATH)." };
        var engineOnnx = new Option<string?>("--engine-onnx") { Description = "For an engine candidate: the ONNX it was built from, whose input types it takes (default: the reference)." };
        var loop = new LoopOptions();
        var command = new Command("validate", "Run a reference and a candidate UNet through the same denoising loop and compare every step.")
        {
            reference, candidate, tolerance, latentTolerance, report, decoder, image, trtexec, engineOnnx,
        };
        loop.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var request = new ValidationRequest
            {
                ReferencePath = parse.GetValue(reference)!,
                CandidatePath = parse.GetValue(candidate)!,
                Spec = loop.Spec(parse),
                Runtime = loop.Runtime(parse),
                Tolerance = new ValidationTolerance { NoiseRelativeL2 = parse.GetValue(tolerance), LatentRelativeL2 = parse.GetValue(latentTolerance) },
                DecoderPath = parse.GetValue(decoder),
                ImagePath = parse.GetValue(image),
                TrtexecPath = parse.GetValue(trtexec),
                EngineSourcePath = parse.GetValue(engineOnnx),
            };
            if (request.DecoderPath is not null && request.ImagePath is null)
            {
                throw new ForgeInputException("--decoder needs --image (where to write the comparison PNG)");
            }

            var result = await CommandProgress.RunAsync("validate", $"loading {request.ReferencePath} and {request.CandidatePath}", progress => LoopValidation.RunAsync(request, progress.Steps("reference vs candidate"), ct));
            if (parse.GetValue(report) is { } reportPath)
            {
                ValidationReport.Write(reportPath, result);
                CliConventions.Wrote("report", reportPath);
            }

            var c = CultureInfo.InvariantCulture;
            Console.Out.WriteLine(string.Create(c, $"reference: {ValidationReport.Timing(result.ReferenceTiming)}"));
            Console.Out.WriteLine(string.Create(c, $"candidate: {ValidationReport.Timing(result.CandidateTiming)}"));
            if (result.Image is { } picture)
            {
                Console.Out.WriteLine(string.Create(c, $"wrote {picture.ImagePath}: PSNR {picture.Psnr:0.##} dB"));
            }

            if (result.Passed)
            {
                Console.Out.WriteLine($"forge: validate: {result.Summary()}");
                return ExitCode.Ok;
            }

            Console.Error.WriteLine($"forge: validate: {result.Summary()}");
            return ExitCode.OutOfTolerance;
        });
        return command;
    }
}
