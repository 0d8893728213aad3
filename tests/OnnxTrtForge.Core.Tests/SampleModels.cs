using OnnxTrtForge.Core.Ir;

namespace OnnxTrtForge.Core.Tests;

/// <summary>Small models built in code for tests of the IR and serializer.</summary>
internal static class SampleModels
{
    /// <summary>
    /// y = If(cond, then: Add(Double(x), 1) reading x from the outer scope, else: x), where Double is a
    /// model-local function in an unknown domain. Carries metadata, doc strings and value_info.
    /// </summary>
    public static Model WithSubgraphAndFunction()
    {
        var graph = new Graph("main") { DocString = "graph doc" };
        var model = new Model(graph) { IrVersion = 8, ProducerName = "forge-test", DocString = "a model doc" };
        model.OpsetImports[""] = 17;
        model.OpsetImports["com.example.unknown"] = 3;
        model.MetadataProps["k"] = "v";
        var x = graph.AddInput("x", TypeInfo.OfTensor(DataType.Float, [Dim.Symbol("N"), Dim.Of(4)]));
        var cond = graph.AddInput("cond", TypeInfo.OfTensor(DataType.Bool, Array.Empty<long>()));
        var one = graph.AddInitializer(Tensor.FromFloats([], [1f], "one"));

        var doubled = graph.Append(new Node("com.example.unknown", "Double", [x], ["doubled"], name: "double_x") { DocString = "custom doc" });
        doubled.MetadataProps["m"] = "node-meta";
        doubled.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [Dim.Symbol("N"), Dim.Of(4)]);

        var thenBranch = new Graph("then", graph);
        var add = thenBranch.Append(new Node("", "Add", [doubled.Outputs[0], one], ["then_out"], name: "then_add"));
        thenBranch.Outputs.Add(add.Outputs[0]);
        var elseBranch = new Graph("else", graph);
        var id = elseBranch.Append(new Node("", "Identity", [x], ["else_out"], name: "else_id"));
        elseBranch.Outputs.Add(id.Outputs[0]);
        var ifNode = graph.Append(new Node("", "If", [cond], ["y"], [Ir.Attribute.GraphValue("then_branch", thenBranch), Ir.Attribute.GraphValue("else_branch", elseBranch)], "branch"));
        thenBranch.OwnerNode = ifNode;
        elseBranch.OwnerNode = ifNode;
        graph.Outputs.Add(ifNode.Outputs[0]);
        ifNode.Outputs[0].Type = TypeInfo.OfTensor(DataType.Float, [Dim.Symbol("N"), Dim.Of(4)]);

        var body = new Graph("Double");
        var fx = body.AddInput("fx", null);
        var two = body.Append(new Node("", "Constant", [], ["two"], [Ir.Attribute.TensorValue("value", Tensor.FromFloats([], [2f]))]));
        var mul = body.Append(new Node("", "Mul", [fx, two.Outputs[0]], ["fy"]));
        body.Outputs.Add(mul.Outputs[0]);
        var function = new Function("com.example.unknown", "Double", body);
        function.OpsetImports[""] = 17;
        model.Functions.Add(function);
        return model;
    }
}
