using System.CommandLine;
using System.Globalization;
using OnnxTrtForge.Core;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Validation;
using OnnxTrtForge.Validation.Schedulers;

namespace OnnxTrtForge.Cli;

/// <summary>
/// <c>forge denoise --model UNET.onnx --scheduler lms|pndm|ddim|euler|euler-a|dpmpp-2m [--karras] --steps N --guidance G
/// [--latents L.pb] [--embeddings E.pb] [--semantics v0.2.4|current] [--seed S] [--device cpu|cuda] -o FINAL.pb
/// [--trajectory T.pb]</c>: the reference denoising loop in ONNX Runtime.
/// </summary>
internal static class DenoiseCommand
{
    public static Command Create()
    {
        var model = CliConventions.MustBeFile(new Option<string>("--model") { Description = "The UNet (ONNX).", Required = true });
        var output = CliConventions.MustBeFile(new Option<string>("--output", "-o") { Description = "Where to write the final latents (TensorProto .pb).", Required = true });
        var trajectory = new Option<string?>("--trajectory") { Description = "Also write the latents after every step, [steps,B,C,H,W] (.pb)." };
        var loop = new LoopOptions();
        var command = new Command("denoise", "Run the seeded denoising loop with classifier-free guidance and write the final latents.") { model, output, trajectory };
        loop.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var request = new DenoiseRequest(parse.GetValue(model)!, loop.Spec(parse), loop.Runtime(parse), parse.GetValue(output)!)
            {
                TrajectoryPath = parse.GetValue(trajectory),
            };
            var result = await CommandProgress.RunAsync("denoise", $"loading {request.ModelPath}", progress => Denoiser.RunAsync(request, progress.Steps("denoise"), ct));
            var share = result.PredictorTime / result.Elapsed;
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {request.OutputPath} [{string.Join("x", result.FinalLatents.Dims)}]: {result.Timesteps.Count} steps in {result.Elapsed.TotalSeconds:F2} s ({result.StepsPerSecond:F2} steps/s, model {share:P1} of the loop{(result.Overhead is { } o ? $", loop overhead over bare session runs {o:P2}" : "")})"));
            if (request.TrajectoryPath is not null)
            {
                Console.Out.WriteLine($"wrote {request.TrajectoryPath} [{string.Join("x", result.Trajectory!.Dims)}]");
            }

            return ExitCode.Ok;
        });
        return command;
    }
}

/// <summary>The loop options <c>denoise</c> and <c>validate</c> share.</summary>
internal sealed class LoopOptions
{
    private readonly Option<string> scheduler = new("--scheduler") { Description = "lms, pndm, ddim, euler, euler-a or dpmpp-2m.", DefaultValueFactory = _ => "lms" };
    private readonly Option<bool> karras = new("--karras") { Description = "Karras sigmas (euler, euler-a, lms, dpmpp-2m; current semantics)." };
    private readonly Option<int> steps = new("--steps") { Description = "Inference steps.", DefaultValueFactory = _ => 50 };
    private readonly Option<double> guidance = new("--guidance") { Description = "Classifier-free guidance scale (≤ 1: no guidance).", DefaultValueFactory = _ => 7.5 };
    private readonly Option<string?> latents = new("--latents") { Description = "Initial latents [B,C,H,W] (.pb), before the scheduler's noise scaling; default: seeded noise." };
    private readonly Option<string?> embeddings = new("--embeddings") { Description = "Text embeddings [2B,L,D] (.pb), unconditional rows first; default: seeded noise." };
    private readonly Option<string?> semantics = new("--semantics") { Description = "v0.2.4 (the article's diffusers) or current; default v0.2.4 for lms/pndm/ddim, current otherwise." };
    private readonly Option<string?> spacing = new("--timestep-spacing") { Description = "Current semantics: leading, trailing or linspace (default: the scheduler's)." };
    private readonly Option<int?> stepsOffset = new("--steps-offset") { Description = "Current semantics: steps_offset (default 0; Stable Diffusion's configs use 1)." };
    private readonly Option<double> eta = new("--eta") { Description = "DDIM eta (> 0 adds seeded noise).", DefaultValueFactory = _ => 0.0 };
    private readonly Option<ulong> seed = new("--seed") { Description = "Seed of generated latents, embeddings and scheduler noise.", DefaultValueFactory = _ => 0UL };
    private readonly Option<string> device = new("--device") { Description = "cpu or cuda (ONNX Runtime's CUDA provider); default: $FORGE_DEVICE, else cpu.", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("FORGE_DEVICE") is { Length: > 0 } d ? d : "cpu" };
    private readonly Option<int> threads = new("--threads") { Description = "ONNX Runtime intra-op threads (0: its default).", DefaultValueFactory = _ => 0 };
    private readonly Option<bool> tf32 = new("--tf32") { Description = "CUDA: allow TF32 convolutions and matrix products (faster, ~1e-3 off fp32)." };
    private readonly Option<bool> noCudaGraph = new("--no-cuda-graph") { Description = "CUDA: run every step as a plain session run instead of replaying one captured CUDA graph." };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { scheduler, karras, steps, guidance, latents, embeddings, semantics, spacing, stepsOffset, eta, seed, device, threads, tf32, noCudaGraph })
        {
            command.Options.Add(option);
        }
    }

    public DenoiseSpec Spec(ParseResult parse)
    {
        SchedulerKind kind;
        try
        {
            kind = SchedulerOptions.ParseKind(parse.GetValue(scheduler)!);
        }
        catch (ArgumentException e)
        {
            throw new ForgeInputException("--scheduler: " + e.Message);
        }

        var semanticsValue = parse.GetValue(semantics) switch
        {
            null => SchedulerFactory.DefaultSemantics(kind),
            "v0.2.4" or "0.2.4" or "v024" => SchedulerSemantics.V024,
            "current" => SchedulerSemantics.Current,
            var other => throw new ForgeInputException($"--semantics {other}: expected v0.2.4 or current"),
        };
        TimestepSpacing? spacingValue = parse.GetValue(spacing) switch
        {
            null => null,
            "leading" => TimestepSpacing.Leading,
            "trailing" => TimestepSpacing.Trailing,
            "linspace" => TimestepSpacing.Linspace,
            var other => throw new ForgeInputException($"--timestep-spacing {other}: expected leading, trailing or linspace"),
        };
        var stepCount = parse.GetValue(steps);
        if (stepCount < 1)
        {
            throw new ForgeInputException($"--steps {stepCount}: need at least 1");
        }

        var seedValue = parse.GetValue(seed);
        return new DenoiseSpec
        {
            Scheduler = new SchedulerOptions
            {
                Kind = kind,
                Semantics = semanticsValue,
                UseKarrasSigmas = parse.GetValue(karras),
                TimestepSpacing = spacingValue,
                StepsOffset = parse.GetValue(stepsOffset),
                Eta = parse.GetValue(eta),
                Seed = seedValue,
            },
            Steps = stepCount,
            GuidanceScale = parse.GetValue(guidance),
            Latents = Denoiser.LoadOptional(parse.GetValue(latents)),
            Embeddings = Denoiser.LoadOptional(parse.GetValue(embeddings)),
            Seed = seedValue,
        };
    }

    public RuntimeOptions Runtime(ParseResult parse) => new()
    {
        Device = parse.GetValue(device) switch
        {
            "cpu" => ExecutionDevice.Cpu,
            "cuda" or "gpu" => ExecutionDevice.Cuda,
            var other => throw new ForgeInputException($"--device {other}: expected cpu or cuda"),
        },
        Threads = parse.GetValue(threads),
        AllowTf32 = parse.GetValue(tf32),
        CudaGraph = !parse.GetValue(noCudaGraph),
    };
}
