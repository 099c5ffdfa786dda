using System.Diagnostics;

namespace Tolerex.Tests.Integration.Faults;

public enum FaultKind
{
    /// <summary>kill -9 of a member, restarted on its data a few seconds later.</summary>
    MemberKill,
    /// <summary>SIGSTOP of a member (connections stay open, nothing answers), then SIGCONT.</summary>
    MemberFreeze,
    /// <summary>Leader and member cut off from each other both ways (bytes held, connections kept), then healed.</summary>
    Partition,
    /// <summary>The leader's calls to a member go unanswered while the member's heartbeats still arrive.</summary>
    OneWayPartition,
    /// <summary>200 ms ± 100 ms added each way between the leader and a member.</summary>
    SlowLink,
    /// <summary>kill -9 of the leader, restarted on its data.</summary>
    LeaderKill,
    /// <summary>SIGSTOP of the leader (clients and members get no answer), then SIGCONT.</summary>
    LeaderFreeze,
    /// <summary>Every client connection that passes the client proxy is reset, and new ones refused for a while.</summary>
    ClientDisconnect,
}

/// <summary>
/// Injects faults into a proxied <see cref="ProcessCluster"/> one at a time, each held for a while and then
/// healed, and waits for the cluster to be whole again before the next. Reports what it did.
/// </summary>
internal sealed class FaultSchedule(ProcessCluster cluster, Random random, TimeSpan hold)
{
    private readonly List<string> _log = [];

    /// <summary>Each fault injected, in order, with the member it hit and when.</summary>
    public IReadOnlyList<string> Log => _log;

    public Dictionary<FaultKind, int> Counts { get; } = [];

    public async Task InjectAsync(FaultKind kind)
    {
        var clock = Stopwatch.StartNew();
        var member = cluster.Members[random.Next(cluster.Members.Count)];
        switch (kind)
        {
            case FaultKind.MemberKill:
                await member.KillAsync();
                await Task.Delay(hold);
                await member.RestartAsync();
                break;
            case FaultKind.MemberFreeze:
                member.Freeze(true);
                await Task.Delay(hold);
                member.Freeze(false);
                break;
            case FaultKind.Partition:
                member.Proxy!.Blackhole = Direction.Both;
                member.Uplink!.Blackhole = Direction.Both;
                await Task.Delay(hold);
                member.Proxy.Heal();
                member.Uplink.Heal();
                break;
            case FaultKind.OneWayPartition:
                member.Proxy!.Blackhole = Direction.Upstream;
                await Task.Delay(hold);
                member.Proxy.Heal();
                break;
            case FaultKind.SlowLink:
                member.Proxy!.Latency = TimeSpan.FromMilliseconds(200);
                member.Proxy.Jitter = TimeSpan.FromMilliseconds(100);
                member.Uplink!.Latency = TimeSpan.FromMilliseconds(200);
                await Task.Delay(hold);
                member.Proxy.Heal();
                member.Uplink.Heal();
                break;
            case FaultKind.LeaderKill:
                await cluster.KillLeaderAsync();
                await cluster.RestartLeaderAsync(); // the members come back to it below
                break;
            case FaultKind.LeaderFreeze:
                cluster.Leader.Freeze(true);
                await Task.Delay(hold);
                cluster.Leader.Freeze(false);
                break;
            case FaultKind.ClientDisconnect:
                cluster.ClientProxy!.RefuseNew = true;
                cluster.ClientProxy.ResetAll();
                await Task.Delay(hold);
                cluster.ClientProxy.Heal();
                break;
        }

        // Whole again: every member alive at the leader.
        await cluster.WaitForAliveAsync(cluster.Members.Count);
        Counts[kind] = Counts.GetValueOrDefault(kind) + 1;
        var target = kind is FaultKind.LeaderKill or FaultKind.LeaderFreeze or FaultKind.ClientDisconnect ? "" : $" {member.Name}";
        _log.Add($"{kind}{target} ({clock.Elapsed.TotalSeconds:0.0} s)");
    }
}
