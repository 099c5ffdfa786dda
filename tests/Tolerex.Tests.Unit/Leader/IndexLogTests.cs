using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Index;
using Tolerex.Leader.Membership;
using Tolerex.ServiceDefaults.Identity;
using Tolerex.Storage;
using Tolerex.Storage.Files;
using Tolerex.Storage.Log;

namespace Tolerex.Tests.Unit.Leader;

/// <summary>The leader's durable index, driven the way SETs and DELs drive it, on real files and on the crash-simulating file system.</summary>
public sealed class IndexLogTests : IAsyncDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tolerex-index-").FullName;
    private readonly List<(IndexLog Log, MemberRegistry Registry)> _open = [];
    private static readonly NodeTls Tls = NodeTls.CreateEphemeral(PeerIdentity.Leader);

    private sealed record Leader(IndexLog Log, MessageIndex Index, MemberRegistry Registry);

    private Leader Open(IStorageFileSystem? fs = null, long checkpointBytes = 64L * 1024 * 1024, Durability durability = Durability.Fsync, long preallocateBytes = 4L * 1024 * 1024,
        TimeSpan? storeTimeout = null)
    {
        var options = Options.Create(new LeaderOptions
        {
            DataDir = _dir,
            CheckpointBytes = checkpointBytes,
            Durability = durability,
            IndexPreallocateBytes = preallocateBytes,
            StoreTimeout = storeTimeout ?? TimeSpan.FromSeconds(2),
        });
        var registry = new MemberRegistry(options, Tls, NullLogger<MemberRegistry>.Instance);
        var map = new IndexMap();
        var log = new IndexLog(map, registry, options, NullLogger<IndexLog>.Instance, fs);
        log.Open();
        _open.Add((log, registry));
        return new Leader(log, new MessageIndex(map, log, options, NullLogger<MessageIndex>.Instance), registry);
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

    /// <summary>Size of a put record naming one replica.</summary>
    private static readonly int PutSize = RecordFrame.SizeOf(4);

    private static async Task CloseAsync(Leader leader)
    {
        await leader.Log.DisposeAsync();
        leader.Registry.Dispose();
    }

    private static string Replicas(MessageIndex index, long id) =>
        index.TryGet(id, out var e) ? $"{e.Version}:" + string.Join(",", e.Replicas.Select(m => m.Address)) : "absent";

    [Fact(Timeout = 60_000)]
    public async Task A_set_takes_its_version_only_once_it_counts_as_in_flight()
    {
        var leader = Open();
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
        var leader = Open(storeTimeout: TimeSpan.FromMilliseconds(50));
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
        var first = Open();
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

        var second = Open();
        Assert.Equal("10:https://localhost:5001,https://localhost:5002", Replicas(second.Index, 1));
        Assert.Equal("11:https://localhost:5001,https://localhost:5003", Replicas(second.Index, 2));
        // Recovery cannot tell an unacknowledged record from an acknowledged one; GET finds out and falls back
        // (ReplicaSubstitutionTests).
        Assert.Equal("12:https://localhost:5002,https://localhost:5003", Replicas(second.Index, 3));
        await CloseAsync(second);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_write_recorded_before_a_checkpoint_and_applied_after_it_survives_a_restart()
    {
        // The checkpoint snapshots memory (which does not have the write yet) and drops the segment holding its
        // record: applying it afterwards must write the record again.
        var first = Open();
        var a = await AddMember(first, 5001);
        var b = await AddMember(first, 5002);
        var write = first.Index.BeginWrite(1, 10, [a, b]);
        await write.Record.Done;
        await first.Log.CheckpointNowAsync();
        Assert.True(await write.CommitAsync([a, b]));
        await CloseAsync(first);

        var second = Open();
        Assert.Equal("10:https://localhost:5001,https://localhost:5002", Replicas(second.Index, 1));
        await CloseAsync(second);
    }

    [Fact(Timeout = 60_000)]
    public async Task Puts_deletes_and_members_survive_a_restart()
    {
        var first = Open();
        var a = await AddMember(first, 5001);
        var b = await AddMember(first, 5002);
        Assert.True(await Put(first, 1, 10, a, b));
        Assert.True(await Put(first, 2, 11, b, a));
        Assert.False(await Put(first, 2, 9, a, b));  // older than what is indexed
        Assert.True(await Put(first, 3, 12, a, b));
        Assert.True(await Delete(first, 3, 13));
        Assert.False(await Delete(first, 1, 5));     // older than the value
        await CloseAsync(first);

        var second = Open();
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
    [InlineData(false)]
    [InlineData(true)]
    public async Task Moved_replicas_count_only_at_the_version_they_were_moved_for_and_a_decommission_is_durable(bool checkpoint)
    {
        var first = Open();
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
        if (checkpoint)
            await first.Log.CheckpointNowAsync();
        await CloseAsync(first);

        var second = Open();
        Assert.Equal("10:https://localhost:5002,https://localhost:5003", Replicas(second.Index, 1));
        Assert.Equal("20:https://localhost:5001,https://localhost:5002", Replicas(second.Index, 2));
        Assert.Equal("absent", Replicas(second.Index, 3));
        Assert.Equal([true, false, false], second.Registry.All.Select(m => m.Decommissioned));
    }

    [Fact(Timeout = 60_000)]
    public async Task Recovery_is_checkpoint_plus_log_tail_and_old_segments_are_removed()
    {
        var first = Open(checkpointBytes: 4096);
        var a = await AddMember(first, 5001);
        var b = await AddMember(first, 5002);
        for (var id = 1; id <= 2000; id++)
            await Put(first, id, id, a, b);
        await first.Log.CheckpointNowAsync();
        for (var id = 2001; id <= 2100; id++)
            await Put(first, id, id, b, a);
        await Delete(first, 5, 100_000);
        Assert.True(first.Log.Checkpoints > 1);
        await CloseAsync(first);

        Assert.True(File.Exists(Path.Combine(_dir, IndexLog.CheckpointName)));
        Assert.True(Directory.GetFiles(_dir, "*" + IndexLog.SegmentSuffix).Length <= 2, "covered log segments are deleted");

        var second = Open();
        Assert.Equal(2099, second.Index.Count);
        Assert.Equal("absent", Replicas(second.Index, 5));
        Assert.Equal("2100:https://localhost:5002,https://localhost:5001", Replicas(second.Index, 2100));
        Assert.Equal(0, second.Log.CorruptRecords);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_torn_last_record_is_dropped_at_every_cut()
    {
        var first = Open();
        var a = await AddMember(first, 5001);
        await Put(first, 1, 1, a);
        await Put(first, 2, 2, a);
        await CloseAsync(first);
        var path = Directory.GetFiles(_dir, "*" + IndexLog.SegmentSuffix).Single();
        var full = await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken);
        var lastSize = PutSize;

        for (var keep = 0; keep < lastSize; keep++)
        {
            await File.WriteAllBytesAsync(path, full[..(full.Length - lastSize + keep)], TestContext.Current.CancellationToken);
            var leader = Open();
            Assert.Equal("1:https://localhost:5001", Replicas(leader.Index, 1));
            Assert.Equal("absent", Replicas(leader.Index, 2));
            // Appends after the truncation point survive the next restart.
            await Put(leader, 3, 3, leader.Registry.All[0]);
            await CloseAsync(leader);
            var again = Open();
            Assert.Equal("3:https://localhost:5001", Replicas(again.Index, 3));
            await CloseAsync(again);
            _open.Clear();
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Preallocated_zeros_after_the_last_record_are_the_clean_end_and_a_torn_record_in_them_is_dropped()
    {
        var first = Open();
        var a = await AddMember(first, 5001);
        await Put(first, 1, 1, a);
        await Put(first, 2, 2, a);
        // What a crash would leave: the durable records, then the zeroed space the writer keeps ahead.
        var path = Directory.GetFiles(_dir, "*" + IndexLog.SegmentSuffix).Single();
        byte[] image;
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            image = new byte[file.Length];
            await file.ReadExactlyAsync(image, TestContext.Current.CancellationToken);
        }

        await CloseAsync(first);
        var end = (int)new FileInfo(path).Length; // the clean shutdown trimmed the space: exactly the records
        Assert.True(image.Length >= end + 1024 * 1024, $"only {image.Length} bytes: no space was preallocated");
        Assert.True(Preallocation.IsZeroTail(image.AsSpan(end)));
        var lastSize = PutSize;
        foreach (var keep in new[] { lastSize, 0, 1, lastSize / 2, lastSize - 1 })
        {
            var torn = image.ToArray();
            torn.AsSpan(end - lastSize + keep, lastSize - keep).Clear();
            await File.WriteAllBytesAsync(path, torn, TestContext.Current.CancellationToken);
            var leader = Open();
            Assert.Equal("1:https://localhost:5001", Replicas(leader.Index, 1));
            Assert.Equal(keep == lastSize ? "2:https://localhost:5001" : "absent", Replicas(leader.Index, 2));
            Assert.Equal(keep == 0 || keep == lastSize ? 0 : 1, leader.Log.CorruptRecords);
            await Put(leader, 3, 3, leader.Registry.All[0]);
            await CloseAsync(leader);
            var again = Open();
            Assert.Equal("3:https://localhost:5001", Replicas(again.Index, 3));
            Assert.Equal(0, again.Log.CorruptRecords);
            await CloseAsync(again);
            _open.Clear();
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_flipped_bit_in_the_log_or_the_checkpoint_loses_only_that_record()
    {
        var first = Open();
        var a = await AddMember(first, 5001);
        for (var id = 1; id <= 3; id++)
            await Put(first, id, id, a);
        await first.Log.CheckpointNowAsync();
        for (var id = 4; id <= 6; id++)
            await Put(first, id, id, a);
        await CloseAsync(first);

        var log = Directory.GetFiles(_dir, "*" + IndexLog.SegmentSuffix).Single();
        var bytes = await File.ReadAllBytesAsync(log, TestContext.Current.CancellationToken);
        bytes[PutSize + 10] ^= 0x04; // inside the second put (id 5)
        await File.WriteAllBytesAsync(log, bytes, TestContext.Current.CancellationToken);
        var checkpoint = Path.Combine(_dir, IndexLog.CheckpointName);
        var cp = await File.ReadAllBytesAsync(checkpoint, TestContext.Current.CancellationToken);
        cp[^(PutSize + PutSize + 10)] ^= 0x04; // inside the second-to-last put of the checkpoint
        await File.WriteAllBytesAsync(checkpoint, cp, TestContext.Current.CancellationToken);

        var second = Open();
        Assert.Equal(2, second.Log.CorruptRecords);
        Assert.Equal(4, second.Index.Count);
        Assert.Equal("absent", Replicas(second.Index, 5));
        Assert.Equal("6:https://localhost:5001", Replicas(second.Index, 6));
    }

    /// <summary>
    /// 16 concurrent writers crashed mid-load, at three points per seed (a seeded number of acknowledgements,
    /// once the log has crossed a checkpoint): in fsync mode no acknowledged put is lost. IndexCrashTests sweeps
    /// the whole SET, DEL and move path at crash points inside group commits and checkpoints.
    /// </summary>
    [Theory(Timeout = 60_000)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task In_fsync_mode_no_acknowledged_put_is_lost_at_a_crash(int seed)
    {
        var rng = new Random(seed);
        foreach (var crashAfter in new[] { 200 + rng.Next(400), 800 + rng.Next(400), 1400 + rng.Next(600) })
        {
            var where = $"seed {seed}, crash after acknowledgement {crashAfter}";
            // Halt: the crashed leader's background checkpoint must not keep renaming and deleting files.
            var fs = new CrashableFileSystem { HaltOnCrash = true };
            var first = Open(fs, checkpointBytes: 8192, preallocateBytes: 64 * 1024);
            var a = await AddMember(first, 5001);
            var acked = new ConcurrentDictionary<long, long>();
            long version = 0;
            var ackCount = 0;
            var crashed = 0;
            await Parallel.ForAsync(0, 16, TestContext.Current.CancellationToken, async (worker, _) =>
            {
                var ids = new Random(seed * 100 + worker);
                while (Volatile.Read(ref crashed) == 0)
                {
                    var id = ids.Next(500);
                    var v = Interlocked.Increment(ref version);
                    try
                    {
                        await Put(first, id, v, a);
                        acked.AddOrUpdate(id, v, (_, old) => Math.Max(old, v));
                        // Crash mid-load, once the log has crossed at least one checkpoint.
                        if (Interlocked.Increment(ref ackCount) >= crashAfter && first.Log.Checkpoints > 0 && Interlocked.Exchange(ref crashed, 1) == 0)
                            fs.Crash();
                    }
                    catch (IOException)
                    {
                    }
                }
            });

            try
            {
                await first.Log.DisposeAsync();
            }
            catch (IOException)
            {
            }

            fs.Restart();
            var second = Open(fs);
            Assert.True(first.Log.Checkpoints > 0, $"{where}: the load crossed no checkpoint");
            foreach (var (id, v) in acked)
                Assert.True(second.Index.TryGet(id, out var e) && e.Version >= v, $"{where}: id {id}: acked version {v} lost");
            await CloseAsync(second);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (log, registry) in _open)
        {
            try
            {
                await log.DisposeAsync();
            }
            catch (IOException)
            {
            }

            registry.Dispose();
        }

        Directory.Delete(_dir, recursive: true);
    }
}
