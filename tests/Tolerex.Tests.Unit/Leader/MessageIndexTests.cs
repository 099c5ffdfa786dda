using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Consensus;
using Tolerex.Leader.Index;
using Tolerex.Leader.Membership;
using Tolerex.Leader.Replication;
using Tolerex.ServiceDefaults.Identity;

namespace Tolerex.Tests.Unit.Leader;

/// <summary>
/// The leader's index driven the way SETs and DELs drive it, committed through the consensus log of a group of
/// one (the leader's own log, state machine and snapshots, on real files), and restarted from disk.
/// </summary>
public sealed class MessageIndexTests : IAsyncDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tolerex-index-").FullName;
    private readonly List<Leader> _open = [];
    private static readonly NodeTls Tls = NodeTls.CreateEphemeral(PeerIdentity.Leader);

    private sealed record Leader(SoloGroup Group, IndexStateMachine Machine, MessageIndex Index, MemberRegistry Registry);

    private async Task<Leader> OpenAsync(long checkpointBytes = 64L * 1024 * 1024, TimeSpan? storeTimeout = null, int logChunkBytes = 1024 * 1024, int? entriesInFlight = null)
    {
        var options = Options.Create(new LeaderOptions
        {
            DataDir = _dir,
            CheckpointBytes = checkpointBytes,
            StoreTimeout = storeTimeout ?? TimeSpan.FromSeconds(2),
            LogChunkBytes = logChunkBytes,
            IndexEntriesInFlight = entriesInFlight ?? new LeaderOptions().IndexEntriesInFlight,
        });
        var registry = new MemberRegistry(options, Tls, NullLogger<MemberRegistry>.Instance);
        var map = new IndexMap();
        var machine = new IndexStateMachine(map, registry, options, NullLogger<IndexStateMachine>.Instance);
        var group = await SoloGroup.StartAsync(machine, options.Value);
        var leader = new Leader(group, machine, new MessageIndex(map, group.Journal, machine, options, NullLogger<MessageIndex>.Instance), registry);
        _open.Add(leader);
        return leader;
    }

    private static async Task<MemberNode> AddMember(Leader leader, int port)
    {
        var member = leader.Registry.GetOrAdd($"localhost:{port}", $"member-{port}", leader.Index.RecordMemberAsync, out _);
        await member.Recorded;
        return member;
    }

    /// <summary>What an acknowledged SET does to the index: its record alongside the copies, then the commit.</summary>
    private static Task<bool> Put(Leader leader, long id, long version, params MemberNode[] replicas) =>
        leader.Index.BeginWrite(id, version, replicas).CommitAsync(replicas);

    private static async Task<bool> Delete(Leader leader, long id, long version) =>
        (await leader.Index.DeleteAsync(id, version)).Outcome == DeleteOutcome.Deleted;

    private async Task CloseAsync(Leader leader)
    {
        _open.Remove(leader);
        await leader.Group.DisposeAsync();
        leader.Registry.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var leader in _open.ToList())
            await CloseAsync(leader);
        Directory.Delete(_dir, recursive: true);
    }

    private static string Replicas(MessageIndex index, long id) =>
        index.TryGet(id, out var e) ? $"{e.Version}:" + string.Join(",", e.Replicas.Select(m => m.Address)) : "absent";

    [Fact(Timeout = 60_000)]
    public async Task A_log_made_with_another_chunk_size_reopens_with_its_own_and_keeps_every_put()
    {
        var leader = await OpenAsync(logChunkBytes: 4096);
        var member = await AddMember(leader, 5001);
        // Enough entries to fill several 4 KiB files.
        for (var id = 1; id <= 300; id++)
            Assert.True(await Put(leader, id, id, member));
        await CloseAsync(leader);
        var chunks = Directory.GetFiles(Path.Combine(_dir, "wal", "data"));
        Assert.True(chunks.Length > 2, $"{chunks.Length} log files");
        Assert.All(chunks, f => Assert.Equal(4096, new FileInfo(f).Length));

        // Configured for 1 MiB files now: the log is still read with the size it was made with.
        var reopened = await OpenAsync(logChunkBytes: 1024 * 1024);
        Assert.Equal(300, reopened.Index.Count);
        Assert.Equal("300:https://localhost:5001", Replicas(reopened.Index, 300));
        var moreMember = reopened.Registry.All.Single();
        Assert.True(await Put(reopened, 301, 301, moreMember));
        await CloseAsync(reopened);
        Assert.All(Directory.GetFiles(Path.Combine(_dir, "wal", "data")), f => Assert.Equal(4096, new FileInfo(f).Length));
        Assert.Equal(301, (await OpenAsync(logChunkBytes: 1024 * 1024)).Index.Count);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_new_log_is_made_of_files_of_the_configured_size()
    {
        var leader = await OpenAsync(logChunkBytes: 1024 * 1024);
        var member = await AddMember(leader, 5001);
        Assert.True(await Put(leader, 1, 1, member));
        await CloseAsync(leader);
        var chunks = Directory.GetFiles(Path.Combine(_dir, "wal", "data"));
        Assert.NotEmpty(chunks);
        Assert.All(chunks, f => Assert.Equal(1024 * 1024, new FileInfo(f).Length));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_set_takes_its_version_only_once_it_counts_as_in_flight()
    {
        var leader = await OpenAsync();
        var member = await AddMember(leader, 5001);
        var inFlightWhenNumbered = false;
        var write = leader.Index.BeginWrite(1, () =>
        {
            inFlightWhenNumbered = leader.Index.Writing(1); // a DEL numbered before this waits for it
            return 7;
        }, [member]);

        Assert.True(inFlightWhenNumbered);
        Assert.Equal(7, write.Version);
        Assert.True(await write.CommitAsync([member]));
        await CloseAsync(leader);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_del_while_a_set_of_the_id_stays_in_flight_fails_and_leaves_the_id_as_it_was()
    {
        var leader = await OpenAsync(storeTimeout: TimeSpan.FromMilliseconds(50));
        var member = await AddMember(leader, 5001);
        Assert.True(await Put(leader, 1, 1, member));
        var stuck = leader.Index.BeginWrite(1, 2, [member]);

        // Deleting now would let the older SET commit after the DEL, naming copies the DEL's tombstones removed.
        await Assert.ThrowsAsync<IOException>(() => leader.Index.DeleteAsync(1, 3));
        Assert.StartsWith("1:", Replicas(leader.Index, 1), StringComparison.Ordinal);

        Assert.True(await stuck.CommitAsync([member]));
        Assert.True(await Delete(leader, 1, 4));
        Assert.Equal("absent", Replicas(leader.Index, 1));
        await CloseAsync(leader);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_recorded_write_is_durable_at_once_but_visible_only_when_published_and_a_moved_copy_is_recorded_again()
    {
        var first = await OpenAsync();
        var a = await AddMember(first, 5001);
        var b = await AddMember(first, 5002);
        var c = await AddMember(first, 5003);
        var write = first.Index.BeginWrite(1, 10, [a, b]);
        await write.Record.Done;
        Assert.Equal("absent", Replicas(first.Index, 1)); // durable, but its copies are not acknowledged yet
        Assert.True(await write.CommitAsync([a, b]));
        Assert.Equal("10:https://localhost:5001,https://localhost:5002", Replicas(first.Index, 1));
        Assert.True(await first.Index.BeginWrite(2, 11, [a, b]).CommitAsync([a, c])); // b failed; c took its copy
        Assert.Equal("11:https://localhost:5001,https://localhost:5003", Replicas(first.Index, 2));
        var failed = first.Index.BeginWrite(3, 12, [b, c]);
        await failed.Record.Done;
        failed.Abandon(); // never acknowledged
        Assert.Equal("absent", Replicas(first.Index, 3));
        await CloseAsync(first);

        var second = await OpenAsync();
        Assert.Equal("10:https://localhost:5001,https://localhost:5002", Replicas(second.Index, 1));
        Assert.Equal("11:https://localhost:5001,https://localhost:5003", Replicas(second.Index, 2));
        // Recovery cannot tell an unacknowledged record from an acknowledged one; GET finds out and falls back
        // (ReplicaSubstitutionTests).
        Assert.Equal("12:https://localhost:5002,https://localhost:5003", Replicas(second.Index, 3));
        await CloseAsync(second);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_write_committed_before_a_snapshot_and_applied_after_it_survives_a_restart()
    {
        // The snapshot reads memory (which does not have the write yet) and the log drops the entry holding its
        // record: applying it afterwards must log the record again.
        var first = await OpenAsync();
        var a = await AddMember(first, 5001);
        var b = await AddMember(first, 5002);
        var write = first.Index.BeginWrite(1, 10, [a, b]);
        await write.Record.Done;
        await first.Machine.SnapshotNowAsync();
        Assert.True(await write.CommitAsync([a, b]));
        await CloseAsync(first);

        var second = await OpenAsync();
        Assert.Equal("10:https://localhost:5001,https://localhost:5002", Replicas(second.Index, 1));
        await CloseAsync(second);
    }

    [Fact(Timeout = 60_000)]
    public async Task Puts_deletes_and_members_survive_a_restart()
    {
        var first = await OpenAsync();
        var a = await AddMember(first, 5001);
        var b = await AddMember(first, 5002);
        Assert.True(await Put(first, 1, 10, a, b));
        Assert.True(await Put(first, 2, 11, b, a));
        Assert.False(await Put(first, 2, 9, a, b));  // older than what is indexed
        Assert.True(await Put(first, 3, 12, a, b));
        Assert.True(await Delete(first, 3, 13));
        Assert.False(await Delete(first, 1, 5));     // older than the value
        await CloseAsync(first);

        var second = await OpenAsync();
        Assert.Equal("10:https://localhost:5001,https://localhost:5002", Replicas(second.Index, 1));
        Assert.Equal("11:https://localhost:5002,https://localhost:5001", Replicas(second.Index, 2));
        Assert.Equal("absent", Replicas(second.Index, 3));
        Assert.Equal(2, second.Registry.All.Length);
        Assert.All(second.Registry.All, m => Assert.False(m.Alive)); // down until they heartbeat
        // Each address stays bound to the member identity that registered it.
        Assert.Equal(["member-5001", "member-5002"], second.Registry.All.Select(m => m.Identity));
        Assert.Equal(3, second.Index.MaxId);
        // The highest version recovered (12; deletes do not count), so a restarted leader's versions stay above it.
        Assert.Equal(12, second.Index.MaxVersion);
        // New members continue the numbering.
        var c = await AddMember(second, 5003);
        Assert.Equal(3, c.Number);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(1)]
    [InlineData(4)]
    public async Task Concurrent_sets_and_dels_of_shared_ids_recover_exactly_as_acknowledged_with_entries_in_flight(int entriesInFlight)
    {
        var first = await OpenAsync(entriesInFlight: entriesInFlight);
        var a = await AddMember(first, 5001);
        var b = await AddMember(first, 5002);
        long clock = 0;
        const int Writers = 32, Steps = 40, Ids = 64;
        // As the SET and DEL paths do it: a SET takes its version once in flight, a DEL takes its own and then
        // waits for the SETs of its id in flight. Writers share ids, so their records race into the same entries.
        await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            for (var step = 0; step < Steps; step++)
            {
                var id = (w * 7 + step) % Ids + 1;
                if (step % 5 == 4)
                    await first.Index.DeleteAsync(id, Interlocked.Increment(ref clock));
                else
                    await first.Index.BeginWrite(id, () => Interlocked.Increment(ref clock), [a, b]).CommitAsync([a, b]);
            }
        })));
        var acknowledged = Enumerable.Range(1, Ids).Select(id => Replicas(first.Index, id)).ToList();
        var entries = first.Machine.AppliedIndex;
        await CloseAsync(first);

        var second = await OpenAsync(entriesInFlight: entriesInFlight);
        Assert.Equal(acknowledged, Enumerable.Range(1, Ids).Select(id => Replicas(second.Index, id)).ToList());
        Assert.Contains(acknowledged, r => r != "absent");
        // Records queued while entries were in flight shared the next entry.
        Assert.True(entries < Writers * Steps / 2, $"{entries} entries for {Writers * Steps} SETs and DELs");
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Moved_replicas_count_only_at_the_version_they_were_moved_for_and_a_decommission_is_durable(bool snapshot)
    {
        var first = await OpenAsync();
        var a = await AddMember(first, 5001);
        var b = await AddMember(first, 5002);
        var c = await AddMember(first, 5003);
        Assert.True(await Put(first, 1, 10, a, b));
        Assert.True(await Put(first, 2, 11, a, b));
        Assert.True(await Put(first, 3, 12, a, b));
        Assert.True(await first.Index.ReplaceReplicasAsync(1, 10, [b, c]));
        // A newer SET of id 2 came first: the move made for version 10 does not apply to it.
        Assert.True(await Put(first, 2, 20, a, b));
        Assert.False(await first.Index.ReplaceReplicasAsync(2, 11, [b, c]));
        // A DEL came first: nothing to move.
        Assert.True(await Delete(first, 3, 30));
        Assert.False(await first.Index.ReplaceReplicasAsync(3, 12, [b, c]));
        await first.Index.DecommissionAsync(a);
        Assert.True(a.Decommissioned);
        Assert.DoesNotContain(a, first.Registry.Placeable);
        if (snapshot)
            await first.Machine.SnapshotNowAsync();
        await CloseAsync(first);

        var second = await OpenAsync();
        Assert.Equal("10:https://localhost:5002,https://localhost:5003", Replicas(second.Index, 1));
        Assert.Equal("20:https://localhost:5001,https://localhost:5002", Replicas(second.Index, 2));
        Assert.Equal("absent", Replicas(second.Index, 3));
        Assert.Equal([true, false, false], second.Registry.All.Select(m => m.Decommissioned));
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_reserved_version_floor_survives_a_restart_so_the_next_leader_numbers_above_it(bool snapshot)
    {
        // A floor above this machine's clock: as if the previous leader's clock ran ahead of this one's.
        var floor = DateTime.UtcNow.Ticks + 10 * VersionClock.ReservedPerTerm;
        var first = await OpenAsync();
        var a = await AddMember(first, 5001);
        Assert.True(await Put(first, 1, 10, a));
        await first.Index.ReserveVersionsAsync(floor);
        Assert.Equal(floor, first.Index.MaxVersion);
        await first.Index.ReserveVersionsAsync(500); // a floor never goes down
        Assert.Equal(floor, first.Index.MaxVersion);
        if (snapshot)
            await first.Machine.SnapshotNowAsync();
        await CloseAsync(first);

        // The next leader's clock, however far behind, numbers its writes above every reserved version.
        var second = await OpenAsync();
        Assert.Equal(floor, second.Index.MaxVersion);
        Assert.Equal("10:https://localhost:5001", Replicas(second.Index, 1));
        var clock = new VersionClock();
        clock.Observe(second.Index.MaxVersion);
        Assert.True(clock.Next() > floor);
    }

    [Fact(Timeout = 60_000)]
    public async Task Recovery_is_the_newest_snapshot_plus_the_log_after_it_and_older_snapshots_are_removed()
    {
        var first = await OpenAsync(checkpointBytes: 4096);
        var a = await AddMember(first, 5001);
        var b = await AddMember(first, 5002);
        for (var id = 1; id <= 2000; id++)
            await Put(first, id, id, a, b);
        await first.Machine.SnapshotNowAsync();
        for (var id = 2001; id <= 2100; id++)
            await Put(first, id, id, b, a);
        await Delete(first, 5, 100_000);
        Assert.True(first.Machine.Snapshots > 1);
        await CloseAsync(first);

        Assert.InRange(Directory.GetFiles(first.Machine.SnapshotDirectory, "*.snapshot").Length, 1, 2);

        var second = await OpenAsync();
        Assert.Equal(2099, second.Index.Count);
        Assert.Equal("absent", Replicas(second.Index, 5));
        Assert.Equal("2100:https://localhost:5002,https://localhost:5001", Replicas(second.Index, 2100));
        Assert.Equal(0, second.Machine.CorruptRecords);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_flipped_bit_in_a_snapshot_loses_only_that_record()
    {
        var first = await OpenAsync();
        var a = await AddMember(first, 5001);
        for (var id = 1; id <= 6; id++)
            await Put(first, id, id, a);
        await first.Machine.SnapshotNowAsync();
        await CloseAsync(first);

        var snapshot = Directory.GetFiles(first.Machine.SnapshotDirectory, "*.snapshot").Single();
        var bytes = await File.ReadAllBytesAsync(snapshot, TestContext.Current.CancellationToken);
        bytes[^(PutSize + PutSize + 10)] ^= 0x04; // inside the second-to-last put
        await File.WriteAllBytesAsync(snapshot, bytes, TestContext.Current.CancellationToken);

        var second = await OpenAsync();
        Assert.Equal(1, second.Machine.CorruptRecords);
        Assert.Equal(5, second.Index.Count);
    }

    /// <summary>Size of a put record naming one replica.</summary>
    private static readonly int PutSize = Tolerex.Storage.Log.RecordFrame.SizeOf(4);
}
