using OnnxTrtForge.Core.Ir;
using OnnxTrtForge.Core.Passes;

namespace OnnxTrtForge.Core.Tests.Passes;

public sealed class PassManagerTests
{
    /// <summary>Removes one Neg node per run, so a fixed point needs as many iterations as there are Negs plus one.</summary>
    private sealed class PeelOneNeg : IGraphPass
    {
        public string Name => "peel-one-neg";

        public int Runs { get; private set; }

        public PassResult Run(Model model)
        {
            Runs++;
            var neg = model.Graph.Nodes.FirstOrDefault(n => n.OpType == "Neg");
            if (neg is null)
            {
                return PassResult.Unchanged;
            }

            var twin = model.Graph.Create("Abs", [neg.Input(0)], anchor: neg);
            neg.Outputs[0].ReplaceAllUsesWith(twin.Outputs[0], model.Graph);
            model.Graph.Remove(neg);
            return new PassResult(true) { Counters = new Dictionary<string, long> { ["peeled"] = 1 }, Notes = ["peeled a Neg"] };
        }
    }

    private static TinyModel ThreeNegs()
    {
        var m = new TinyModel();
        Value v = m.Input("x", DataType.Float, 2);
        for (var i = 0; i < 3; i++)
        {
            v = m.Op("Neg", [v]).Outputs[0];
        }

        m.Output(v, DataType.Float, 2);
        return m;
    }

    [Fact]
    public void Runs_to_a_fixed_point_and_records_census_delta_per_pass()
    {
        var m = ThreeNegs();
        var pass = new PeelOneNeg();

        var records = new PassManager().RunToFixedPoint(m.Model, [pass]);

        Assert.Equal(4, pass.Runs);
        Assert.Equal([1, 2, 3, 4], records.Select(r => r.Iteration));
        Assert.All(records.Take(3), r => Assert.Equal(new Dictionary<string, int> { ["Abs"] = 1, ["Neg"] = -1 }, r.CensusDelta));
        Assert.Empty(records[3].CensusDelta);
        Assert.False(records[3].Modified);
        Assert.All(records, r => Assert.Equal(3, r.NodesAfter));
        Assert.All(records, r => Assert.True(r.Milliseconds >= 0));
    }

    [Fact]
    public void Stops_at_the_iteration_limit()
    {
        var m = ThreeNegs();
        var pass = new PeelOneNeg();

        var records = new PassManager(maxIterations: 2).RunToFixedPoint(m.Model, [pass]);

        Assert.Equal(2, records.Count);
        Assert.Equal(["Abs", "Abs", "Neg"], m.Ops.Order());
    }

    [Fact]
    public void Registry_rejects_an_unknown_pass_name_listing_the_known_ones()
    {
        var e = Assert.Throws<ForgeInputException>(() => PassRegistry.CreateDefault().Create("fold-everything", new OptimizeOptions()));

        Assert.Contains("'fold-everything'", e.Message, StringComparison.Ordinal);
        Assert.Contains("remove-identity", e.Message, StringComparison.Ordinal);
        Assert.Contains("cse", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Registry_refuses_names_that_are_not_kebab_case_and_duplicates()
    {
        var registry = new PassRegistry().Register<PeelOneNeg>();

        Assert.Throws<ArgumentException>(() => registry.Register<PeelOneNeg>());
        Assert.Throws<ArgumentException>(() => registry.Register("PeelNeg", _ => new PeelOneNeg()));
        Assert.Equal(["peel-one-neg"], registry.Names);
    }

    [Fact]
    public void Every_registered_pass_is_named_as_registered_and_every_default_stage_name_is_registered()
    {
        var registry = PassRegistry.CreateDefault();
        foreach (var name in registry.Names)
        {
            Assert.Equal(name, registry.Create(name, new OptimizeOptions()).Name);
        }

        Assert.All(PassRegistry.DefaultPipeline.SelectMany(s => s.Passes), n => Assert.True(registry.Contains(n), n));
    }

    [Fact]
    public void Optimizer_runs_the_named_passes_once_and_reports_before_and_after()
    {
        var m = new TinyModel();
        var x = m.Input("x", DataType.Float, 2);
        var id = m.Op("Identity", [x]);
        var neg = m.Op("Neg", [id.Outputs[0]]);
        m.Op("Exp", [x]);
        m.Output(neg.Outputs[0], DataType.Float, 2);

        var report = Optimizer.Optimize(m.Model, new OptimizeOptions { Passes = ["remove-identity", "remove-dead-nodes"] });

        Assert.Equal(["remove-identity", "remove-dead-nodes"], report.Passes.Select(p => p.Pass));
        Assert.Equal(3, report.Before.Nodes);
        Assert.Equal(1, report.After.Nodes);
        Assert.Equal(1, report.Before.OpCensus["Identity"]);
        Assert.False(report.After.OpCensus.ContainsKey("Identity"));
    }

    [Fact]
    public void A_pass_that_breaks_an_ir_invariant_fails_as_a_pass_failure_naming_it()
    {
        var m = ThreeNegs();

        var e = Assert.Throws<PassFailedException>(() => PassManager.RunOne(m.Model, new Breaker(), 0, 1));

        Assert.Contains("'breaker'", e.Message, StringComparison.Ordinal);
    }

    private sealed class Breaker : IGraphPass
    {
        public string Name => "breaker";

        public PassResult Run(Model model)
        {
            model.Graph.Remove(model.Graph.Nodes[0]);
            return new PassResult(true);
        }
    }

    [Fact]
    public void Validating_every_pass_names_the_pass_that_broke_the_graph()
    {
        var m = ThreeNegs();
        var registry = new PassRegistry().Register<Mistyper>().Register<PeelOneNeg>();

        var e = Assert.Throws<PassFailedException>(() =>
            Optimizer.Optimize(m.Model, new OptimizeOptions { Passes = ["peel-one-neg", "mistyper"], ValidateEveryPass = true }, registry));

        Assert.StartsWith("after pass 'mistyper':", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Declares the first node's output int64 although its input is float.</summary>
    private sealed class Mistyper : IGraphPass
    {
        public string Name => "mistyper";

        public PassResult Run(Model model)
        {
            model.Graph.Nodes[0].Outputs[0].Type = TypeInfo.OfTensor(DataType.Int64, [2]);
            return new PassResult(true);
        }
    }
}
