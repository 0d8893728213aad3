using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Testing;
using OnnxTrtForge.Validation.Schedulers;

namespace OnnxTrtForge.Validation.Tests;

/// <summary>
/// The denoising loop through IOBinding (device-resident buffers, embeddings uploaded once) against the loop it replaced:
/// a plain <c>session.Run</c> over host arrays every step. On CPU the two must agree to the bit.
/// </summary>
public sealed class BoundLoopTests
{
    [Theory]
    [InlineData("tiny_unet_opset12_fp32", "ddim")]
    [InlineData("tiny_unet_opset12_fp16", "lms")]
    [InlineData("tiny_unet_dynamo18_fp32", "euler")]
    public async Task The_io_bound_loop_gives_bit_for_bit_the_latents_of_plain_session_runs(string fixture, string scheduler)
    {
        var model = Fixtures.Model(fixture);
        var spec = new DenoiseSpec
        {
            Scheduler = new SchedulerOptions { Kind = SchedulerOptions.ParseKind(scheduler), Semantics = SchedulerFactory.DefaultSemantics(SchedulerOptions.ParseKind(scheduler)) },
            Steps = 4,
            Seed = 7,
            RecordTrajectory = true,
        };

        using var bound = new OnnxNoisePredictor(model, new RuntimeOptions());
        var viaBinding = await DenoiseLoop.RunAsync(bound, spec, null, CancellationToken.None);
        using var plain = new PlainSessionPredictor(model);
        var viaRun = await DenoiseLoop.RunAsync(plain, spec, null, CancellationToken.None);

        Assert.Equal(viaRun.Trajectory!.ToDoubleArray(), viaBinding.Trajectory!.ToDoubleArray());
        Assert.Equal(viaRun.FinalLatents.ToDoubleArray(), viaBinding.FinalLatents.ToDoubleArray());
        Assert.Equal(4, bound.Runs);
        Assert.DoesNotContain("cuda graph", bound.Description, StringComparison.Ordinal); // never on CPU
    }

    [Fact]
    public async Task Denoise_reports_bare_session_time_and_the_loops_overhead_over_it()
    {
        using var temp = Fixtures.Temp();
        var request = new DenoiseRequest(Fixtures.Model("tiny_unet_opset12_fp32"), new DenoiseSpec { Scheduler = new SchedulerOptions(), Steps = 2, Seed = 3 }, new RuntimeOptions(), temp.File("final.pb"));
        var result = await Denoiser.RunAsync(request, null, CancellationToken.None);

        Assert.NotNull(result.SessionTime);
        Assert.True(result.SessionTime > TimeSpan.Zero && result.SessionTime <= result.PredictorTime);
        Assert.Equal((result.Elapsed / result.SessionTime!.Value) - 1, result.Overhead!.Value, 12);
    }

    /// <summary>The loop's former predictor: host arrays wrapped as OrtValues, <c>session.Run</c> every step.</summary>
    private sealed class PlainSessionPredictor : INoisePredictor
    {
        private readonly InferenceSession session;

        public PlainSessionPredictor(string path)
        {
            Signature = UnetSignature.FromModelFile(path);
            session = OrtSessions.Create(path, new RuntimeOptions());
        }

        public UnetSignature Signature { get; }

        public string Description => "plain session.Run";

        public ValueTask PredictAsync(ReadOnlyMemory<float> sample, long[] sampleDims, double timestep, ReadOnlyMemory<float> embeddings, long[] embeddingDims, Memory<float> noise, CancellationToken ct)
        {
            var s = Signature;
            long[] timestepDims = s.Timestep.Rank == 0 ? [] : [s.Timestep.Dims[0] < 0 ? sampleDims[0] : s.Timestep.Dims[0]];
            var count = (int)timestepDims.Aggregate(1L, (a, d) => a * d);
            using var x = Float(s.Sample.Type, sample.Span, sampleDims);
            using var e = Float(s.Embeddings.Type, embeddings.Span, embeddingDims);
            using var t = s.Timestep.Type switch
            {
                DataType.Float16 => OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(ToFloat16((Half)timestep), count).ToArray(), timestepDims),
                DataType.Int64 => OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat((long)Math.Round(timestep), count).ToArray(), timestepDims),
                DataType.Int32 => OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat((int)Math.Round(timestep), count).ToArray(), timestepDims),
                DataType.Double => OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(timestep, count).ToArray(), timestepDims),
                _ => OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat((float)timestep, count).ToArray(), timestepDims),
            };
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, [s.Sample.Name, s.Timestep.Name, s.Embeddings.Name], [x, t, e], [s.Output.Name]);
            var output = outputs[0];
            var target = noise.Span;
            if (output.GetTensorTypeAndShape().ElementDataType == TensorElementType.Float16)
            {
                var half = output.GetTensorDataAsSpan<Float16>();
                for (var i = 0; i < target.Length; i++)
                {
                    target[i] = (float)BitConverter.UInt16BitsToHalf(half[i].value);
                }
            }
            else
            {
                output.GetTensorDataAsSpan<float>().CopyTo(target);
            }

            return ValueTask.CompletedTask;
        }

        public void Dispose() => session.Dispose();

        private static OrtValue Float(DataType type, ReadOnlySpan<float> values, long[] dims) => type == DataType.Float16
            ? OrtValue.CreateTensorValueFromMemory(values.ToArray().Select(v => ToFloat16((Half)v)).ToArray(), dims)
            : OrtValue.CreateTensorValueFromMemory(values.ToArray(), dims);

        private static Float16 ToFloat16(Half h) => new(BitConverter.HalfToUInt16Bits(h));
    }
}
