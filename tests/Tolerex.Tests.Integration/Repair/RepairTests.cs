using Tolerex.Tests.Integration.Faults;

namespace Tolerex.Tests.Integration.Repair;

/// <summary>
/// Self-healing replication with real processes: a lost member's ids get their copies back on other members
/// (so a second failure loses nothing), repair carries on across a leader restart, a member that comes back
/// gives up what the index no longer names there, and a decommissioned member is drained.
/// </summary>
public sealed class RepairTests
{
    private static readonly TimeSpan RepairTimeout = TimeSpan.FromSeconds(90);

    private static Dictionary<string, string> Settings(string replaceAfter = "2s", int copiesPerSecond = 2000) => new()
    {
        ["Tolerex__Leader__Tolerance"] = "2",
        ["Tolerex__Leader__ReplaceAfter"] = replaceAfter,
        ["Tolerex__Leader__RepairCopiesPerSecond"] = $"{copiesPerSecond}",
    };

    private static async Task<Dictionary<long, string>> WriteAsync(ProcessCluster cluster, long first, int count)
    {
        var written = new Dictionary<long, string>();
        await using var c = await cluster.ConnectAsync();
        for (var id = first; id < first + count; id++)
        {
            var value = $"v{id}-{Guid.NewGuid():N}";
            Assert.Equal("OK", await c.CommandAsync($"SET {id} {value}"));
            written[id] = value;
        }

        return written;
    }

    private static async Task AssertReadBackAsync(ProcessCluster cluster, IReadOnlyDictionary<long, string> written)
    {
        await using var c = await cluster.ConnectAsync();
        foreach (var (id, value) in written)
            Assert.Equal(value, await c.CommandAsync($"GET {id}"));
    }

    /// <summary>Every copy the members hold is one the index names: held copies = live ids × Tolerance.</summary>
    private static Task WaitForNoOrphansAsync(ProcessCluster cluster, int liveIds) => Eventually.HoldsAsync(
        async () => (await cluster.MessagesPerMemberAsync()).Sum() == liveIds * 2L, RepairTimeout, $"members holding exactly {liveIds} ids × 2 copies");

    [Fact(Timeout = 240_000)]
    public async Task Ids_of_a_lost_member_get_their_copies_back_and_survive_a_second_failure()
    {
        await using var cluster = await ProcessCluster.StartAsync(3, Settings());
        var written = await WriteAsync(cluster, 1, 600);
        var status = await cluster.StatusAsync();
        Assert.Equal("leader", status["role"]);
        Assert.Equal("3", status["members_alive"]);
        Assert.Equal("2", status["tolerance"]);
        Assert.Equal("600", status["ids"]);
        Assert.Equal("0", status["under_replicated"]);
        Assert.Equal("idle", status["repair"]);

        var lost = cluster.Members[0];
        var held = await lost.MessagesAsync();
        Assert.True(held > 0);
        await lost.KillAsync();
        await cluster.WaitForAliveAsync(2);
        // Down: its ids count as under-replicated until repair has given each of them a new copy.
        Assert.True(await cluster.StatusValueAsync("under_replicated") > 0);
        await cluster.WaitForRepairedAsync(RepairTimeout);
        // One new copy per id the index named there: as many as it held, fewer only if it also held copies that
        // lost their place to a substitute (a store timeout on a starved machine), which need none.
        Assert.InRange(await cluster.StatusValueAsync("repaired_copies"), 1, held);

        // The copies the lost member held now live on the other two: losing one of them loses nothing.
        await cluster.Members[1].KillAsync();
        await cluster.WaitForAliveAsync(1);
        await AssertReadBackAsync(cluster, written);
    }

    [Fact(Timeout = 240_000)]
    public async Task Repair_carries_on_after_the_leader_is_killed_midway()
    {
        await using var cluster = await ProcessCluster.StartAsync(3, Settings(copiesPerSecond: 100));
        var written = await WriteAsync(cluster, 1, 600);
        var held = await cluster.Members[0].MessagesAsync();
        await cluster.Members[0].KillAsync();
        await Eventually.HoldsAsync(async () => await cluster.StatusValueAsync("repaired_copies") >= 50, RepairTimeout, "repair under way");

        await cluster.KillLeaderAsync();
        await cluster.RestartLeaderAsync(alive: 2);
        await cluster.WaitForRepairedAsync(RepairTimeout);
        // The restarted leader repaired only what was left: together with the first, exactly one copy per id.
        Assert.True(await cluster.StatusValueAsync("repaired_copies") < held);

        await cluster.Members[2].KillAsync();
        await cluster.WaitForAliveAsync(1);
        await AssertReadBackAsync(cluster, written);
    }

    [Fact(Timeout = 240_000)]
    public async Task A_member_that_comes_back_gives_up_the_copies_of_ids_deleted_while_it_was_away()
    {
        // Never replaced here: the member keeps its place, and only the deletions it missed are settled.
        await using var cluster = await ProcessCluster.StartAsync(3, Settings(replaceAfter: "1h"));
        var written = await WriteAsync(cluster, 1, 300);
        var away = cluster.Members[0];
        await away.KillAsync();
        await cluster.WaitForAliveAsync(2);
        await using (var c = await cluster.ConnectAsync())
        {
            for (long id = 1; id <= 100; id++)
            {
                Assert.Equal("OK", await c.CommandAsync($"DEL {id}"));
                written.Remove(id);
            }
        }

        await away.RestartAsync();
        await cluster.WaitForAliveAsync(3);
        await WaitForNoOrphansAsync(cluster, liveIds: 200);
        Assert.Equal(0, await cluster.StatusValueAsync("under_replicated"));
        await using (var c = await cluster.ConnectAsync())
        {
            for (long id = 1; id <= 100; id++)
                Assert.Equal("NOT_FOUND", await c.CommandAsync($"GET {id}"));
        }

        // Its remaining copies still count: with the two others gone, everything is read from it and one more.
        await cluster.Members[1].KillAsync();
        await cluster.WaitForAliveAsync(2);
        await AssertReadBackAsync(cluster, written);
    }

    [Fact(Timeout = 240_000)]
    public async Task A_member_replaced_while_away_gives_up_every_copy_that_moved_and_then_takes_new_ones()
    {
        await using var cluster = await ProcessCluster.StartAsync(3, Settings());
        var written = await WriteAsync(cluster, 1, 300);
        var away = cluster.Members[0];
        await away.KillAsync();
        await cluster.WaitForAliveAsync(2);
        await cluster.WaitForRepairedAsync(RepairTimeout);

        await away.RestartAsync();
        await cluster.WaitForAliveAsync(3);
        await Eventually.HoldsAsync(async () => await away.MessagesAsync() == 0, RepairTimeout, "the returned member holding nothing");
        Assert.True(await cluster.StatusValueAsync("reclaimed_copies") > 0);
        await WaitForNoOrphansAsync(cluster, liveIds: 300);

        foreach (var (id, value) in await WriteAsync(cluster, 1000, 60))
            written[id] = value;
        Assert.True(await away.MessagesAsync() > 0);
        await AssertReadBackAsync(cluster, written);
    }

    [Fact(Timeout = 240_000)]
    public async Task A_decommissioned_member_is_drained_and_gets_no_new_copies()
    {
        await using var cluster = await ProcessCluster.StartAsync(3, Settings(replaceAfter: "1h"));
        var written = await WriteAsync(cluster, 1, 300);
        var leaving = cluster.Members[0];
        await using (var c = await cluster.ConnectAsync())
        {
            Assert.Equal("ERROR: no such member", await c.CommandAsync("DECOMMISSION nosuch"));
            Assert.Equal("ERROR: DECOMMISSION <member>", await c.CommandAsync("DECOMMISSION"));
            Assert.Equal("OK", await c.CommandAsync($"DECOMMISSION {leaving.Name}"));
        }

        await cluster.WaitForRepairedAsync(RepairTimeout);
        await Eventually.HoldsAsync(async () => await leaving.MessagesAsync() == 0, RepairTimeout, "the decommissioned member drained");
        foreach (var (id, value) in await WriteAsync(cluster, 1000, 60))
            written[id] = value;
        Assert.Equal(0, await leaving.MessagesAsync());

        // Durable: a restarted leader still keeps it out.
        await cluster.KillLeaderAsync();
        await cluster.RestartLeaderAsync(alive: 3);
        Assert.Equal(1, await cluster.StatusValueAsync("members_decommissioned"));
        await leaving.KillAsync();
        await cluster.WaitForAliveAsync(2);
        await AssertReadBackAsync(cluster, written);
    }
}
