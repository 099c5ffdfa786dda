using System.Diagnostics;
using Tolerex.Testing.History;
using Tolerex.Tests.Integration.Faults;

namespace Tolerex.Tests.Integration.Group;

/// <summary>
/// The leader cut off from the other two leader nodes (network namespaces, blackhole routes) while clients keep
/// writing and reading through all three, then the cut healed: real processes, real packets dropped.
/// </summary>
[Collection(nameof(LeaderGroupCollection))]
public sealed class LeaderPartitionTests(ITestOutputHelper output)
{
    private const int Ids = 16;
    /// <summary>How long a cut-off leader may still answer: its lease (the election timeout, 300 ms) plus margin.</summary>
    private static readonly TimeSpan LeaseBound = TimeSpan.FromSeconds(1);
    /// <summary>How soon the other two serve writes again: detection and election take about a second; a client
    /// stuck on a connection forwarded to the cut-off node would take as long as TCP takes to give up.</summary>
    private static readonly TimeSpan MajorityBound = TimeSpan.FromSeconds(10);

    [Fact(Timeout = 300_000)]
    public async Task A_leader_cut_off_from_the_group_stops_answering_the_majority_elects_another_and_after_healing_it_follows_without_stale_reads()
    {
        await using var network = await NodeNetwork.CreateAsync(3);
        await using var group = await LeaderGroupCluster.StartAsync(leaders: 3, members: 3, LeaderGroupCluster.Settings(), network);
        // Nine clients, three on each node and staying there: the cut-off node's clients see what it does.
        var workload = new HistoryWorkload((client, _) => LeaderGroupCluster.ConnectAsync(group.Nodes[client % 3]), clients: 9, ids: Ids, seed: 29);
        using var stop = new CancellationTokenSource();
        var running = workload.RunAsync(stop.Token);
        LeaderNode old, successor;
        long cutAt, healedAt;
        int oldIndex;
        try
        {
            await Eventually.HoldsAsync(() => Task.FromResult(Acknowledged(workload.History, _ => true, since: 0) >= 100), TimeSpan.FromSeconds(60), "100 SETs acknowledged");
            old = await group.CurrentLeaderAsync() ?? throw new InvalidOperationException("no node names a leader");
            oldIndex = group.Nodes.ToList().IndexOf(old);
            for (var i = 0; i < group.Nodes.Count; i++)
            {
                if (i != oldIndex)
                    await network.CutAsync(oldIndex, i);
            }

            cutAt = Stopwatch.GetTimestamp();
            bool OnMajority(Operation o) => o.Client % 3 != oldIndex;
            // The two connected nodes elect one of them and serve writes; a few seconds of it, so the cut-off node's
            // clients run into its refusals.
            await group.WithLogsOnTimeoutAsync(Eventually.HoldsAsync(() => Task.FromResult(Acknowledged(workload.History, OnMajority, since: cutAt) >= 100
                && Stopwatch.GetElapsedTime(cutAt) > TimeSpan.FromSeconds(5)), TimeSpan.FromSeconds(60), "100 SETs acknowledged by the majority side"));
            successor = await group.LeaderAsync(group.Nodes[(oldIndex + 1) % 3]) ?? throw new InvalidOperationException("the majority side names no leader");
            Assert.NotEqual(old, successor);

            await network.HealAsync();
            healedAt = Stopwatch.GetTimestamp();
            await group.WithLogsOnTimeoutAsync(Eventually.HoldsAsync(async () => await group.LeaderAsync(old) is not null, TimeSpan.FromSeconds(60),
                $"{old.Name}, healed, names the group's leader"));
            await Eventually.HoldsAsync(() => Task.FromResult(Acknowledged(workload.History, o => !OnMajority(o), since: healedAt) >= 20), TimeSpan.FromSeconds(60),
                $"20 SETs acknowledged through {old.Name} after healing");
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }

        // Every id read once more through the node that was cut off: a stale value there fails the history.
        var history = workload.History.ToList();
        await using (var c = await LeaderGroupCluster.ConnectAsync(old))
        {
            for (var id = 0; id < Ids; id++)
            {
                var invoked = Stopwatch.GetTimestamp();
                var reply = await c.CommandAsync($"GET {id}");
                Assert.False(reply.StartsWith("ERROR", StringComparison.Ordinal), reply);
                history.Add(new Operation(99, id, OperationKind.Get, reply == "NOT_FOUND" ? null : reply, invoked, Stopwatch.GetTimestamp()));
            }
        }

        var cutOff = history.Where(o => o.Client % 3 == oldIndex && o.Client != 99).ToList();
        var answeredWhileCut = cutOff.Where(o => o.Completed is { } done && done > cutAt && done < healedAt).ToList();
        var lastAnswer = answeredWhileCut.Count == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(cutAt, answeredWhileCut.Max(o => o.Completed!.Value));
        var firstElsewhere = history.Where(o => o is { Kind: OperationKind.Set, Completed: not null } && o.Client % 3 != oldIndex && o.Invoked >= cutAt).Min(o => o.Completed!.Value);
        var verdict = LinearizabilityChecker.Check(history);
        output.WriteLine($"{old.Name} cut off from the other leaders for {Stopwatch.GetElapsedTime(cutAt, healedAt).TotalSeconds:0.0} s; " +
            $"its last answer {lastAnswer.TotalMilliseconds:0} ms after the cut ({answeredWhileCut.Count} answers while cut); " +
            $"first SET acknowledged by the majority side {Stopwatch.GetElapsedTime(cutAt, firstElsewhere).TotalMilliseconds:0} ms after it ({successor.Name} leads)");
        foreach (var o in answeredWhileCut)
            output.WriteLine($"answered while cut: {o} invoked +{Stopwatch.GetElapsedTime(cutAt, o.Invoked).TotalMilliseconds:0} ms, answered +{Stopwatch.GetElapsedTime(cutAt, o.Completed!.Value).TotalMilliseconds:0} ms");
        output.WriteLine($"history: {history.Count} operations, {Acknowledged(history, _ => true, 0)} SETs acknowledged, " +
            $"{history.Count(o => !o.Known)} with unknown outcome: {verdict}");

        // Nothing the cut-off node was asked after its lease ran out was answered before the cut healed: it
        // neither acknowledged a write nor served a read (stale or not) on its own.
        var late = answeredWhileCut.Where(o => Stopwatch.GetElapsedTime(cutAt, o.Invoked) > LeaseBound).ToList();
        Assert.True(late.Count == 0, $"{late.Count} operations asked of {old.Name} more than {LeaseBound.TotalSeconds} s after the cut were answered before it healed, " +
            $"first: {late.FirstOrDefault()}");
        Assert.True(Stopwatch.GetElapsedTime(cutAt, firstElsewhere) < MajorityBound, $"the majority side acknowledged its first SET only after {MajorityBound.TotalSeconds} s");
        Assert.True(verdict.Linearizable, verdict.ToString());
        Assert.True(group.MembersRunning, "every member process still runs");
        await group.WaitForAliveAsync(3, TimeSpan.FromSeconds(30));
    }

    private static int Acknowledged(IEnumerable<Operation> history, Func<Operation, bool> which, long since) =>
        history.Count(o => o is { Kind: OperationKind.Set, Completed: not null } && o.Invoked >= since && which(o));
}
