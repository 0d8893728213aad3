namespace OnnxTrtForge.Core.Passes.Fp16;

/// <summary>
/// Minimum s–t cut by Dinic's max-flow. Deterministic: edges are explored in insertion order, and the
/// source side returned is the smallest minimum cut (the vertices reachable from s in the residual graph).
/// </summary>
internal sealed class MinCut
{
    public const long Infinite = long.MaxValue / 4;

    private readonly List<int> heads = [];
    private readonly List<int> to = [];
    private readonly List<int> next = [];
    private readonly List<long> capacity = [];

    public MinCut()
    {
        Source = AddVertex();
        Sink = AddVertex();
    }

    public int Source { get; }

    public int Sink { get; }

    public int VertexCount => heads.Count;

    public int AddVertex()
    {
        heads.Add(-1);
        return heads.Count - 1;
    }

    public void AddEdge(int from, int target, long cap)
    {
        if (cap <= 0 || from == target)
        {
            return;
        }

        Push(from, target, cap);
        Push(target, from, 0);
    }

    private void Push(int from, int target, long cap)
    {
        to.Add(target);
        capacity.Add(cap);
        next.Add(heads[from]);
        heads[from] = to.Count - 1;
    }

    /// <summary>Runs max-flow; returns the cut value and, per vertex, whether it lies on the source side.</summary>
    public (long Value, bool[] SourceSide) Solve()
    {
        var n = heads.Count;
        var level = new int[n];
        var iterator = new int[n];
        long flow = 0;
        while (Levels(level))
        {
            for (var v = 0; v < n; v++)
            {
                iterator[v] = heads[v];
            }

            long pushed;
            while ((pushed = Augment(level, iterator)) > 0)
            {
                flow += pushed;
            }
        }

        Levels(level);
        var side = new bool[n];
        for (var v = 0; v < n; v++)
        {
            side[v] = level[v] >= 0;
        }

        return (flow, side);
    }

    private bool Levels(int[] level)
    {
        Array.Fill(level, -1);
        var queue = new Queue<int>();
        level[Source] = 0;
        queue.Enqueue(Source);
        while (queue.TryDequeue(out var v))
        {
            for (var e = heads[v]; e >= 0; e = next[e])
            {
                if (capacity[e] > 0 && level[to[e]] < 0)
                {
                    level[to[e]] = level[v] + 1;
                    queue.Enqueue(to[e]);
                }
            }
        }

        return level[Sink] >= 0;
    }

    /// <summary>One augmenting path in the level graph (iterative DFS, so deep graphs cannot overflow the stack).</summary>
    private long Augment(int[] level, int[] iterator)
    {
        var path = new List<int>();
        var v = Source;
        while (true)
        {
            if (v == Sink)
            {
                var bottleneck = Infinite;
                foreach (var e in path)
                {
                    bottleneck = Math.Min(bottleneck, capacity[e]);
                }

                foreach (var e in path)
                {
                    capacity[e] -= bottleneck;
                    capacity[e ^ 1] += bottleneck;
                }

                return bottleneck;
            }

            var advanced = false;
            for (; iterator[v] >= 0; iterator[v] = next[iterator[v]])
            {
                var e = iterator[v];
                if (capacity[e] > 0 && level[to[e]] == level[v] + 1)
                {
                    path.Add(e);
                    v = to[e];
                    advanced = true;
                    break;
                }
            }

            if (advanced)
            {
                continue;
            }

            if (path.Count == 0)
            {
                return 0;
            }

            // dead end: never come back to v in this phase
            level[v] = -2;
            var last = path[^1];
            path.RemoveAt(path.Count - 1);
            v = to[last ^ 1];
            iterator[v] = next[iterator[v]];
        }
    }
}
