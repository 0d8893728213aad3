using System.CommandLine;
using OnnxTrtForge.Cli;
using OnnxTrtForge.Core;
using OnnxTrtForge.Core.Ir;

var verbose = new Option<bool>("--verbose") { Description = "Show details (stack traces, full logs) on failure.", Recursive = true };
var root = new RootCommand("forge: ONNX → optimized ONNX → TensorRT engines, validated by a reference denoising loop.");
root.Options.Add(verbose);
root.Subcommands.Add(InspectCommand.Create());
root.Subcommands.Add(ConvertCommand.Create());
root.Subcommands.Add(BuildCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(DenoiseCommand.Create());
root.Subcommands.Add(ValidateCommand.Create());
root.Subcommands.Add(OptimizeCommand.Create());
root.Subcommands.Add(RunCommand.Create());

var parse = root.Parse(args);
if (parse.Errors.Count > 0 && !args.Contains("--help") && !args.Contains("-h"))
{
    foreach (var error in parse.Errors)
    {
        Console.Error.WriteLine($"forge: {error.Message}");
    }

    return ExitCode.BadInput;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

try
{
    return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }, cancel.Token);
}
catch (ForgeInputException e)
{
    Console.Error.WriteLine($"forge: error: {e.Message}");
    if (parse.GetValue(verbose))
    {
        Console.Error.WriteLine(e);
    }

    return ExitCode.BadInput;
}
catch (PassFailedException e)
{
    Console.Error.WriteLine($"forge: pass failed: {e.Message}");
    if (parse.GetValue(verbose))
    {
        Console.Error.WriteLine(e);
    }

    return ExitCode.PassFailed;
}
catch (OnnxTrtForge.TensorRt.TrtexecFailedException e)
{
    Console.Error.WriteLine($"forge: trtexec failed ({e.Reason.Kind}): {e.Message}");
    if (parse.GetValue(verbose))
    {
        foreach (var line in e.LogTail)
        {
            Console.Error.WriteLine("  " + line);
        }
    }

    return ExitCode.EngineBuildFailed;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("forge: cancelled");
    return ExitCode.Cancelled;
}
catch (Exception e)
{
    Console.Error.WriteLine($"forge: unexpected error: {e.GetType().Name}: {e.Message}");
    if (parse.GetValue(verbose))
    {
        Console.Error.WriteLine(e);
    }

    return ExitCode.Unexpected;
}
