namespace OnnxTrtForge.TensorRt.Tests;

public sealed class TrtexecFailureTests
{
    private static FailureReason Classify(string name) =>
        TrtexecFailure.Classify(File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Logs", name)), 1);

    [Fact]
    public void Classifies_an_unknown_option()
    {
        var r = Classify("fail_unknown_option_trt11.log");
        Assert.Equal(FailureKind.UnknownOption, r.Kind);
        Assert.Equal("--fp16", r.Option);
    }

    [Fact]
    public void Classifies_out_of_memory()
    {
        var r = Classify("fail_oom_trt86.log");
        Assert.Equal(FailureKind.OutOfMemory, r.Kind);
    }

    [Fact]
    public void Classifies_no_implementation_and_names_the_node_even_after_memory_warnings()
    {
        var r = Classify("fail_no_implementation_trt10.log");
        Assert.Equal(FailureKind.NoImplementation, r.Kind);
        Assert.Equal("{ForeignNode[/down_blocks.0/attentions.0/transformer_blocks.0/attn1/MatMul.../down_blocks.0/attentions.0/transformer_blocks.0/attn1/Reshape_3]}", r.Node);
    }

    [Fact]
    public void Classifies_the_ATen_fallback_as_an_unsupported_op_and_names_the_node()
    {
        var r = Classify("fail_unsupported_aten_trt85.log");
        Assert.Equal(FailureKind.UnsupportedOp, r.Kind);
        Assert.Equal("ATen", r.Op);
        Assert.Equal("/ATen", r.Node);
        Assert.Contains("ATen", r.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Classifies_a_parser_error_and_names_the_node()
    {
        var r = Classify("fail_parser_error_trt10.log");
        Assert.Equal(FailureKind.ParserError, r.Kind);
        Assert.Equal("/decoder/conv_in/Conv", r.Node);
        Assert.Equal("Conv", r.Op);
        Assert.Contains("/decoder/conv_in/Conv", r.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Classifies_a_missing_plugin_for_the_ATen_node_as_an_unsupported_op()
    {
        var r = Classify("fail_plugin_not_found_trt10.log");
        Assert.Equal(FailureKind.UnsupportedOp, r.Kind);
        Assert.Equal("ATen", r.Op);
        Assert.Equal("/ATen", r.Node);
    }

    [Fact]
    public void No_implementation_for_lack_of_workspace_names_the_node_and_suggests_more_workspace()
    {
        var r = TrtexecFailure.Classify(["[05/02/2024-08:31:41] [E] Error[10]: Could not find any implementation for node /down_blocks.0/resnets.0/conv1/Conv due to insufficient workspace. See verbose log for requested sizes."], 1);
        Assert.Equal(FailureKind.NoImplementation, r.Kind);
        Assert.Equal("/down_blocks.0/resnets.0/conv1/Conv", r.Node);
        Assert.Contains("--workspace", r.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Memory_warnings_alone_do_not_make_a_failure_out_of_memory()
    {
        var r = TrtexecFailure.Classify(
        [
            "[05/02/2024-08:31:40] [W] [TRT] Skipping tactic 0x0000000000000000 due to insufficient memory on requested size of 68719476736 detected for tactic 0x0000000000000000.",
            "[05/02/2024-08:31:41] [E] Saving engine to file failed.",
        ], 1);
        Assert.Equal(FailureKind.Failed, r.Kind);
    }

    [Fact]
    public void Anything_else_is_a_plain_failure_with_the_last_error()
    {
        var r = TrtexecFailure.Classify(["[01/01/2025-00:00:00] [E] Cannot find binding of given name: x", "&&&& FAILED TensorRT.trtexec [TensorRT v100800] # trtexec"], 1);
        Assert.Equal(FailureKind.Failed, r.Kind);
        Assert.Contains("Cannot find binding of given name: x", r.Message, StringComparison.Ordinal);
    }
}
