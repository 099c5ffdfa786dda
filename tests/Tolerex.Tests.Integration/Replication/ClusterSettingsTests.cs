using System.Globalization;
using Tolerex.Tests.Integration.Faults;

namespace Tolerex.Tests.Integration.Replication;

/// <summary>
/// Whole clusters of real processes with settings the AppHost tests do not use, and writes that must stay
/// ordered across a leader's kill -9.
/// </summary>
public sealed class ClusterSettingsTests
{
    private static async Task SetAsync(HaToKuSeConnection c, int id, string value) => Assert.Equal("OK", await c.CommandAsync($"SET {id} {value}"));

    private static async Task AssertReadsAsync(ProcessCluster cluster, IEnumerable<int> ids, Func<int, string> value)
    {
        await using var c = await cluster.ConnectAsync();
        foreach (var id in ids)
            Assert.Equal(value(id), await c.CommandAsync($"GET {id}"));
    }

    [Fact(Timeout = 300_000)]
    public async Task P2c_placement_with_unbuffered_members_spreads_copies_and_serves_every_id_through_member_restarts()
    {
        await using var cluster = await ProcessCluster.StartAsync(3,
            new Dictionary<string, string> { ["Tolerex__Leader__Tolerance"] = "2", ["Tolerex__Leader__Balancer"] = "p2c" },
            memberSettings: new Dictionary<string, string> { ["Tolerex__Member__Io"] = "unbuffered" });
        var ids = Enumerable.Range(1, 300).ToArray();
        await using (var c = await cluster.ConnectAsync())
        {
            foreach (var id in ids)
                await SetAsync(c, id, $"p2c-{id}");
        }

        // Two copies of each id, and every member took a share. (A store that timed out on a starved machine may
        // leave one more copy where its SET no longer names it; the member's reconciliation reclaims it, below.)
        // MEMBERS gives each member's count as of its last report, and a heartbeat that left a member just before
        // its last copies landed may arrive after their batch's reply: wait for the next report.
        long[] held = [];
        await Eventually.HoldsAsync(async () => (held = await cluster.MessagesPerMemberAsync()).Sum() >= 2 * ids.Length,
            TimeSpan.FromSeconds(10), $"members reporting {ids.Length} ids × 2 copies");
        Assert.InRange(held.Sum(), 2 * ids.Length, 2 * ids.Length + ids.Length / 10);
        Assert.All(held, n => Assert.True(n > ids.Length / 4, $"copies per member: {string.Join(", ", held)}"));

        // Each member in turn is killed (reads fail over) and restarted on its unbuffered log (it serves what it holds).
        foreach (var member in cluster.Members)
        {
            await member.KillAsync();
            await AssertReadsAsync(cluster, ids, id => $"p2c-{id}");
            await member.RestartAsync();
            await cluster.WaitForAliveAsync(3);
        }

        await AssertReadsAsync(cluster, ids, id => $"p2c-{id}");

        // Each member was reconciled when it came back: exactly the two copies of each id the index names remain.
        await Eventually.HoldsAsync(async () => (await cluster.MessagesPerMemberAsync()).Sum() == 2 * ids.Length, TimeSpan.FromSeconds(60), $"members holding exactly {ids.Length} ids × 2 copies");
    }

    [Fact(Timeout = 300_000)]
    public async Task Ids_written_again_after_the_leader_is_killed_read_back_the_newer_value()
    {
        await using var cluster = await ProcessCluster.StartAsync(3, new Dictionary<string, string> { ["Tolerex__Leader__Tolerance"] = "2" });
        var ids = Enumerable.Range(1, 60).ToArray();
        await using (var c = await cluster.ConnectAsync())
        {
            foreach (var id in ids)
                await SetAsync(c, id, $"old-{id}");
            foreach (var id in ids.Where(i => i % 3 == 0))
                Assert.Equal("OK", await c.CommandAsync($"DEL {id}"));
        }

        await cluster.KillLeaderAsync();
        await cluster.RestartLeaderAsync(alive: 3);

        // The restarted leader must number these writes above everything the members hold (values and DEL
        // tombstones), or the members would keep the old values and refuse the new ones.
        await using (var c = await cluster.ConnectAsync())
        {
            foreach (var id in ids)
                await SetAsync(c, id, $"new-{id}");
        }

        await AssertReadsAsync(cluster, ids, id => $"new-{id}");

        // And from the members' disks: every member restarted, then the leader once more.
        foreach (var member in cluster.Members)
        {
            await member.KillAsync();
            await member.RestartAsync();
        }

        await cluster.WaitForAliveAsync(3);
        await cluster.KillLeaderAsync();
        await cluster.RestartLeaderAsync(alive: 3);
        await AssertReadsAsync(cluster, ids, id => $"new-{id}");
        Assert.Equal(ids.Length.ToString(CultureInfo.InvariantCulture), (await cluster.StatusAsync())["ids"]);
    }
}
