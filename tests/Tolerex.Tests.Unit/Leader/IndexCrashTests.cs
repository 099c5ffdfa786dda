using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Index;
using Tolerex.Leader.Membership;
using Tolerex.Leader.Replication;
using Tolerex.ServiceDefaults.Identity;
using Tolerex.Storage;
using Tolerex.Storage.Files;

namespace Tolerex.Tests.Unit.Leader;

/// <summary>
/// The leader's index crashed (<see cref="CrashableFileSystem"/>) while SETs, DELs and moves of copies go through
/// it the way the replication coordinator and repair drive it (<see cref="MessageIndex.BeginWrite(long, long, Tolerex.Leader.Membership.MemberNode[])"/> and
/// <see cref="IndexedWrite.CommitAsync"/>, <see cref="MessageIndex.DeleteAsync"/>,
/// <see cref="MessageIndex.ReplaceReplicasAsync"/>), at crash points chosen from a seed; and negative controls:
/// without the syncs the index relies on, the same sweep loses acknowledged writes.
/// </summary>
public sealed class IndexCrashTests
{
    /// <summary>How the disk under the crashed leader misbehaves (from the moment its members are recorded).</summary>
    public enum Fault
    {
        /// <summary>An honest disk: every sync does what it says.</summary>
        None,
        /// <summary>The index in <c>durability=os</c>: writes are acknowledged without an fsync.</summary>
        NoFsync,
        /// <summary>File syncs do nothing (a disk that lies about fdatasync).</summary>
        FileSyncSkipped,
        /// <summary>Directory syncs do nothing: new files, renames and deletions are not made durable.</summary>
        DirectorySyncSkipped,
    }

    private static readonly NodeTls Tls = NodeTls.CreateEphemeral(PeerIdentity.Leader);
    /// <summary>The data directory, on the in-memory file system only.</summary>
    private static readonly string Dir = Path.Combine(Path.GetTempPath(), "tolerex-index-crash");
    /// <summary>
    /// Versions of the crashed leader: its wall clock was a year ahead, so a restarted leader's clock is behind
    /// them and only <see cref="VersionClock.Observe"/> of the recovered index keeps new versions above.
    /// </summary>
    private static readonly long FirstVersion = DateTime.UtcNow.Ticks + TimeSpan.FromDays(365).Ticks;

    private const int Workers = 12;
    private const int IdsPerWorker = 6;
    private const int OpsPerWorker = 40;
    private const int Members = 4;
    private const int PointsPerSeed = 6;

    private sealed class Leader(IndexLog log, MessageIndex index, MemberRegistry registry) : IAsyncDisposable
    {
        public IndexLog Log { get; } = log;
        public MessageIndex Index { get; } = index;
        public MemberRegistry Registry { get; } = registry;

        public async ValueTask DisposeAsync()
        {
            try
            {
                await Log.DisposeAsync();
            }
            catch (IOException)
            {
                // Crashed: its files are gone.
            }
            finally
            {
                Registry.Dispose();
            }
        }
    }

    private static Leader Open(IStorageFileSystem fs, Durability durability = Durability.Fsync, long checkpointBytes = 2048)
    {
        // Checkpoints every few dozen records; a little space preallocated ahead, as in production but smaller.
        var options = Options.Create(new LeaderOptions { DataDir = Dir, CheckpointBytes = checkpointBytes, IndexPreallocateBytes = 8192, Durability = durability });
        var registry = new MemberRegistry(options, Tls, NullLogger<MemberRegistry>.Instance);
        var map = new IndexMap();
        var log = new IndexLog(map, registry, options, NullLogger<IndexLog>.Instance, fs);
        try
        {
            log.Open();
        }
        catch
        {
            registry.Dispose();
            throw;
        }

        return new Leader(log, new MessageIndex(map, log, options, NullLogger<MessageIndex>.Instance), registry);
    }

    private static async Task<MemberNode> AddMember(Leader leader, int port)
    {
        var member = leader.Registry.GetOrAdd($"localhost:{port}", $"member-{port}", leader.Index.RecordMemberAsync, out _);
        await member.Recorded;
        return member;
    }

    private static async Task<MemberNode[]> AddMembers(Leader leader)
    {
        var members = new MemberNode[Members];
        for (var i = 0; i < Members; i++)
            members[i] = await AddMember(leader, 5001 + i);
        return members;
    }

    /// <summary>A SET as the replication coordinator indexes it: the record alongside the copies, then the commit.</summary>
    private static Task<bool> Set(Leader leader, long id, long version, MemberNode[] replicas) =>
        leader.Index.BeginWrite(id, version, replicas).CommitAsync(replicas);

    /// <summary>Members by port, in order: "5001,5003".</summary>
    private static string Names(MemberNode[] members) => string.Join(",", members.Select(m => m.Address[(m.Address.LastIndexOf(':') + 1)..]));

    private static long Rel(long version) => version - FirstVersion;

    /// <summary>An id as the index holds it: its version and replicas.</summary>
    private readonly record struct State(long Version, string Replicas)
    {
        public override string ToString() => $"v{Rel(Version)}@{Replicas}";
    }

    private static string Show(State? state) => state?.ToString() ?? "absent";

    // The index's rules (IndexMap): a put applies over a lower version (or other replicas at the same one), a
    // delete removes a lower version, a move of copies applies only at exactly its version.
    private static State? Put(State? s, long v, string r) => s is not { } c || c.Version < v || (c.Version == v && c.Replicas != r) ? new State(v, r) : s;

    private static State? Remove(State? s, long v) => s is { } c && c.Version < v ? null : s;

    private static State? Replace(State? s, long v, string r) => s is { } c && c.Version == v ? new State(v, r) : s;

    /// <summary>
    /// One id's operations, in order (each id has one writer), and what recovery may show for it: what the
    /// acknowledged ones left, or what the one in flight at the crash may have left on disk.
    /// </summary>
    private sealed class History(long id)
    {
        private readonly List<string> _ops = [];

        public long Id { get; } = id;
        public int Acknowledged { get; private set; }
        public State? Acked { get; private set; }
        public List<State?> Possible { get; private set; } = [null];

        public void Start(string op, params State?[] outcomes)
        {
            _ops.Add(op + " in flight");
            Possible = [Acked, .. outcomes];
        }

        public void Done(State? state, string result)
        {
            _ops[^1] = _ops[^1].Replace(" in flight", " " + result, StringComparison.Ordinal);
            Acked = state;
            Possible = [state];
            Acknowledged++;
        }

        public override string ToString() => string.Join("; ", _ops);
    }

    private sealed class Versions
    {
        private long _last = FirstVersion;

        public long Next() => Interlocked.Increment(ref _last);
    }

    /// <summary>
    /// Where the crash lands: before the <see cref="Change"/>-th file-system change of the start-up (opening the
    /// index, recording the members) when <see cref="AfterAcks"/> is 0; else before the <see cref="Change"/>-th
    /// change after the <see cref="AfterAcks"/>-th acknowledged write, wherever that falls (a group commit's
    /// write or sync, a checkpoint's roll, file, rename or deletions); never: a power loss after the load.
    /// </summary>
    private sealed record CrashPoint(int AfterAcks, int Change)
    {
        public static readonly CrashPoint Never = new(-1, 0);

        public override string ToString() => AfterAcks switch
        {
            < 0 => "after the load",
            0 => $"before change {Change} of the start-up",
            _ => $"before change {Change} after acknowledgement {AfterAcks}",
        };
    }

    /// <summary>Arms the crash once the load reaches its point.</summary>
    private sealed class Trigger(CrashableFileSystem fs, CrashPoint point)
    {
        private int _acks;

        public void Acknowledged()
        {
            if (Interlocked.Increment(ref _acks) == point.AfterAcks)
                fs.CrashBefore(point.Change);
        }
    }

    /// <summary>One crash and its findings: <see cref="Lost"/>, ids recovery got wrong; <see cref="Wrong"/>, anything else.</summary>
    private sealed record Run(int Seed, CrashPoint Point, int StartupChanges, bool Crashed, int Acknowledged, int Checkpoints, List<string> Lost, List<string> Wrong)
    {
        public bool Clean => Lost.Count == 0 && Wrong.Count == 0;

        public string Describe() =>
            $"seed {Seed}, crash {Point} ({(Crashed ? "it crashed" : "it did not crash before the end")}), "
            + $"{Acknowledged} writes acknowledged, {Checkpoints} checkpoints: {Lost.Count} ids recovered wrong, {Wrong.Count} other findings"
            + string.Concat(Lost.Concat(Wrong).Take(8).Select(w => "\n  " + w));
    }

    /// <summary>
    /// One crash: 12 writers SET, DEL and move the copies of their own ids through one index, concurrently (so
    /// their records share group commits and checkpoints), until the crash at <paramref name="point"/>. The index
    /// is then reopened and every id checked; every id then takes a new write at a version from a clock that
    /// observed the recovered index, which must apply, and survive a clean restart.
    /// </summary>
    private static async Task<Run> CrashOnceAsync(int seed, CrashPoint point, Fault fault)
    {
        var fs = new CrashableFileSystem { HaltOnCrash = true };
        var disk = new SyncSkippingFileSystem(fs);
        var trigger = new Trigger(fs, point);
        if (point.AfterAcks == 0)
            fs.CrashBefore(point.Change);
        var startupChanges = 0;
        var histories = Enumerable.Range(1, Workers * IdsPerWorker).Select(id => new History(id)).ToArray();
        var wrong = new ConcurrentQueue<string>();
        var lost = new List<string>();
        var versions = new Versions();
        var crashed = 0;
        Leader? leader = null;
        try
        {
            leader = Open(disk, fault == Fault.NoFsync ? Durability.Os : Durability.Fsync);
            var members = await AddMembers(leader);
            startupChanges = fs.Changes;
            disk.SkipFileSync = fault == Fault.FileSyncSkipped;
            disk.SkipDirectorySync = fault == Fault.DirectorySyncSkipped;
            var open = leader;
            await Task.WhenAll(Enumerable.Range(0, Workers).Select(worker => Task.Run(async () =>
            {
                if (!await WorkAsync(open, members, histories.Where(h => (h.Id - 1) % Workers == worker).ToArray(), OpsPerWorker, new Random(seed * 1000 + worker), versions, trigger, wrong))
                    Interlocked.Exchange(ref crashed, 1);
            })));
        }
        catch (IOException)
        {
            crashed = 1; // while opening or recording the members
        }

        fs.Crash(); // crashed already, or a power loss right after the load
        fs.CrashBefore(int.MaxValue - fs.Changes); // disarmed: recovery runs to the end
        var checkpoints = leader?.Log.Checkpoints ?? 0;
        if (leader is not null)
            await leader.DisposeAsync();
        fs.Restart();

        var news = new Dictionary<long, long>();
        await using (var recovered = Open(fs))
        {
            foreach (var h in histories)
            {
                State? got = recovered.Index.TryGet(h.Id, out var e) ? new State(e.Version, Names(e.Replicas)) : null;
                if (!h.Possible.Contains(got))
                    lost.Add($"id {h.Id}: recovered {Show(got)}, expected {string.Join(" or ", h.Possible.Distinct().Select(Show))}; ops: {h}");
            }

            foreach (var (id, _) in recovered.Index.Entries.Where(kv => kv.Key < 1 || kv.Key > histories.Length))
                lost.Add($"id {id}: recovered, but never written");

            // What LeaderHost does at start-up: versions continue above everything recovered.
            var clock = new VersionClock();
            clock.Observe(recovered.Index.MaxVersion);
            var members = await AddMembers(recovered); // the recorded ones, or recorded again if the crash lost them
            foreach (var h in histories)
            {
                var v = clock.Next();
                news[h.Id] = v;
                var held = recovered.Index.TryGet(h.Id, out var before) ? (State?)new State(before.Version, Names(before.Replicas)) : null;
                if (!await Set(recovered, h.Id, v, members[..2]))
                    wrong.Enqueue($"id {h.Id}: a write after recovery at v{Rel(v)} did not apply over {Show(held)}: versions did not continue above the recovered ones");
            }
        }

        await using (var again = Open(fs))
        {
            foreach (var (id, v) in news)
            {
                if (!again.Index.TryGet(id, out var e) || e.Version != v)
                    wrong.Enqueue($"id {id}: the write at v{Rel(v)} after recovery is not there after a clean restart");
            }
        }

        return new Run(seed, point, startupChanges, crashed != 0, histories.Sum(h => h.Acknowledged), checkpoints, lost, [.. wrong]);
    }

    /// <summary>One writer's seeded sequence of operations on its own ids; false when the crash stopped it.</summary>
    private static async Task<bool> WorkAsync(Leader leader, MemberNode[] members, History[] owned, int ops, Random rng, Versions versions, Trigger trigger, ConcurrentQueue<string> wrong)
    {
        for (var i = 0; i < ops; i++)
        {
            var h = owned[rng.Next(owned.Length)];
            var roll = rng.Next(100);
            try
            {
                if (roll < 55 || (roll >= 80 && h.Acked is null))
                    await SetAsync(leader, members, h, rng, versions, wrong);
                else if (roll < 80)
                    await DeleteAsync(leader, h, versions, wrong);
                else
                    await MoveAsync(leader, members, h, rng, wrong);
                trigger.Acknowledged();
            }
            catch (IOException)
            {
                return false; // not acknowledged: the crash came first
            }
        }

        return true;
    }

    private static async Task SetAsync(Leader leader, MemberNode[] members, History h, Random rng, Versions versions, ConcurrentQueue<string> wrong)
    {
        var v = versions.Next();
        var placed = Pick(rng, members, []);
        // Sometimes a copy fails and moves to a substitute: the commit names the members that hold the copies.
        var final = rng.Next(5) == 0 ? [placed[0], Pick(rng, members, placed)[0]] : placed;
        var recorded = Put(h.Acked, v, Names(placed));
        var committed = Put(recorded, v, Names(final));
        h.Start($"SET v{Rel(v)} on {Names(placed)}" + (final == placed ? "" : $" moved to {Names(final)}"), recorded, committed);
        var write = leader.Index.BeginWrite(h.Id, v, placed);
        await Task.Yield(); // the copies are stored meanwhile; the other writers go on
        if (!await write.CommitAsync(final))
            wrong.Enqueue($"id {h.Id}: SET v{Rel(v)} did not apply, yet no newer write of it exists");
        h.Done(committed, "acknowledged");
    }

    private static async Task DeleteAsync(Leader leader, History h, Versions versions, ConcurrentQueue<string> wrong)
    {
        var v = versions.Next();
        h.Start($"DEL v{Rel(v)}", Remove(h.Acked, v));
        var (outcome, _) = await leader.Index.DeleteAsync(h.Id, v);
        var expected = h.Acked is null ? DeleteOutcome.NotFound : DeleteOutcome.Deleted;
        if (outcome != expected)
            wrong.Enqueue($"id {h.Id}: DEL v{Rel(v)} was {outcome}, expected {expected}");
        h.Done(outcome == DeleteOutcome.Deleted ? Remove(h.Acked, v) : h.Acked, $"acknowledged ({outcome})");
    }

    /// <summary>What repair does: names other replicas, only while the id is indexed at exactly that version.</summary>
    private static async Task MoveAsync(Leader leader, MemberNode[] members, History h, Random rng, ConcurrentQueue<string> wrong)
    {
        var current = h.Acked!.Value;
        var stale = rng.Next(4) == 0; // for a version a newer SET has replaced meanwhile: must not apply
        var v = stale ? current.Version - 1 : current.Version;
        MemberNode[] to;
        do
            to = Pick(rng, members, []);
        while (Names(to) == current.Replicas);
        using var hold = leader.Index.HoldForRepair(h.Id);
        h.Start($"MOVE v{Rel(v)} to {Names(to)}", Replace(h.Acked, v, Names(to)));
        var moved = await leader.Index.ReplaceReplicasAsync(h.Id, v, to);
        if (moved == stale)
            wrong.Enqueue($"id {h.Id}: MOVE v{Rel(v)} (held v{Rel(current.Version)}) returned {moved}");
        h.Done(moved ? Replace(h.Acked, v, Names(to)) : h.Acked, $"acknowledged ({moved})");
    }

    /// <summary>Two distinct members none of which is in <paramref name="except"/> (one when only one is left).</summary>
    private static MemberNode[] Pick(Random rng, MemberNode[] members, MemberNode[] except)
    {
        var candidates = members.Except(except).ToArray();
        rng.Shuffle(candidates);
        return candidates[..Math.Min(2, candidates.Length)];
    }

    /// <summary>
    /// Crashes the same seeded load after it, once during its start-up, and at <see cref="PointsPerSeed"/> points
    /// spread over it (one per stretch of its acknowledgements, at a seeded place in it, then a seeded 1-8 changes on).
    /// </summary>
    private static async Task<List<Run>> SweepAsync(int seed, Fault fault)
    {
        var rng = new Random(seed);
        var runs = new List<Run> { await CrashOnceAsync(seed, CrashPoint.Never, fault) };
        runs.Add(await CrashOnceAsync(seed, new CrashPoint(0, 1 + rng.Next(runs[0].StartupChanges)), fault));
        var stretch = Workers * OpsPerWorker * 9 / 10 / PointsPerSeed;
        for (var i = 0; i < PointsPerSeed; i++)
            runs.Add(await CrashOnceAsync(seed, new CrashPoint(1 + (i * stretch) + rng.Next(stretch), 1 + rng.Next(8)), fault));
        return runs;
    }

    [Theory(Timeout = 60_000)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Every_acknowledged_set_delete_and_move_of_copies_survives_a_crash_at_seeded_points(int seed)
    {
        var runs = await SweepAsync(seed, Fault.None);
        foreach (var run in runs)
            Assert.True(run.Clean, run.Describe());
        Assert.Equal(Workers * OpsPerWorker, runs[0].Acknowledged);
        Assert.All(runs.Skip(1), r => Assert.True(r.Crashed, r.Describe()));
        Assert.True(runs.Max(r => r.Checkpoints) >= 2, $"seed {seed}: the load crossed at most {runs.Max(r => r.Checkpoints)} checkpoints");
    }

    /// <summary>
    /// One writer's seeded SETs, DELs and moves (deterministic), then SETs whose records are written but whose
    /// copies are still being stored, then a checkpoint, then those SETs commit: crashed before each file-system
    /// change of the checkpoint and the commits in turn (the roll to a new segment, the snapshot's file, sync,
    /// rename and directory sync, the deletion of the old segment, the commits' records written again).
    /// </summary>
    [Theory(Timeout = 60_000)]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Acknowledged_writes_survive_a_crash_at_every_point_of_a_checkpoint_with_sets_in_flight_across_it(int seed)
    {
        var points = 0;
        for (var crashAt = 1; ; crashAt++)
        {
            var where = $"seed {seed}, crash before change {crashAt} of the checkpoint and the commits after it";
            var fs = new CrashableFileSystem { HaltOnCrash = true };
            var histories = Enumerable.Range(1, 30).Select(id => new History(id)).ToArray();
            var wrong = new ConcurrentQueue<string>();
            var versions = new Versions();
            var rng = new Random(seed);
            var first = Open(fs, checkpointBytes: long.MaxValue); // only the checkpoint asked for
            var members = await AddMembers(first);
            Assert.True(await WorkAsync(first, members, histories, 150, rng, versions, new Trigger(fs, CrashPoint.Never), wrong), where);

            var inFlight = new List<(History H, IndexedWrite Write, State? Committed)>();
            foreach (var h in histories.Take(6))
            {
                var v = versions.Next();
                var placed = Pick(rng, members, []);
                var committed = Put(h.Acked, v, Names(placed));
                h.Start($"SET v{Rel(v)} on {Names(placed)} across the checkpoint", committed);
                var write = first.Index.BeginWrite(h.Id, v, placed);
                await write.Record.Done;
                inFlight.Add((h, write, committed));
            }

            fs.CrashBefore(crashAt);
            await first.Log.CheckpointNowAsync(); // a failure is logged, not thrown: the segments stay
            var crashed = first.Log.Checkpoints == 0;
            foreach (var (h, write, committed) in inFlight)
            {
                try
                {
                    Assert.True(await write.CommitAsync(write.Placed), where);
                    h.Done(committed, "acknowledged");
                }
                catch (IOException)
                {
                    crashed = true;
                }
            }

            fs.Crash();
            fs.CrashBefore(int.MaxValue - fs.Changes);
            await first.DisposeAsync();
            fs.Restart();
            await using (var recovered = Open(fs))
            {
                foreach (var h in histories)
                {
                    State? got = recovered.Index.TryGet(h.Id, out var e) ? new State(e.Version, Names(e.Replicas)) : null;
                    Assert.True(h.Possible.Contains(got), $"{where}: id {h.Id} recovered {Show(got)}, expected {string.Join(" or ", h.Possible.Distinct().Select(Show))}; ops: {h}");
                }
            }

            Assert.True(wrong.IsEmpty, $"{where}: {string.Join("; ", wrong)}");
            if (!crashed)
                break;
            points++;
        }

        Assert.True(points >= 20, $"seed {seed}: only {points} crash points");
    }

    [Theory(Timeout = 60_000)]
    [InlineData(Fault.NoFsync)]
    [InlineData(Fault.FileSyncSkipped)]
    [InlineData(Fault.DirectorySyncSkipped)]
    public async Task Without_the_syncs_the_index_relies_on_the_same_sweep_loses_acknowledged_writes(Fault fault)
    {
        // The negative control: were the model lenient, or the checks blind, this sweep would pass as well.
        var runs = await SweepAsync(seed: 1, fault);
        var lost = runs.Sum(r => r.Lost.Count);
        Assert.True(lost > 0, $"{fault}: no acknowledged write was lost at {runs.Count} crash points:\n" + string.Join("\n", runs.Select(r => r.Describe())));
    }

    [Theory(Timeout = 60_000)]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_segment_a_checkpoint_starts_survives_a_crash_only_because_its_directory_entry_is_synced(bool syncDirectory)
    {
        var fs = new CrashableFileSystem();
        var disk = new SyncSkippingFileSystem(fs);
        var first = Open(disk, checkpointBytes: long.MaxValue); // only the checkpoint asked for
        var members = await AddMembers(first);
        for (var id = 1; id <= 20; id++)
            Assert.True(await Set(first, id, id, members[..2]));
        var before = Assert.Single(fs.List(Dir, IndexLog.SegmentSuffix));

        disk.SkipDirectorySync = !syncDirectory;
        await first.Log.CheckpointNowAsync(); // a new segment, the checkpoint file, the old segment deleted
        var after = Assert.Single(fs.List(Dir, IndexLog.SegmentSuffix));
        Assert.NotEqual(before, after);
        Assert.True(fs.Exists(Path.Combine(Dir, IndexLog.CheckpointName)));
        for (var id = 21; id <= 40; id++)
            Assert.True(await Set(first, id, id, members[..2])); // acknowledged: synced into the new segment

        fs.Crash();
        await first.DisposeAsync();
        await using var second = Open(fs);
        if (syncDirectory)
        {
            Assert.Equal([after], fs.List(Dir, IndexLog.SegmentSuffix));
            Assert.Equal(40, second.Index.Count);
            return;
        }

        // Without the directory syncs the crash dropped the new segment, the checkpoint and the deletion: the
        // disk is as before the checkpoint, and every write acknowledged since is lost although its file was synced.
        Assert.Equal([before], fs.List(Dir, IndexLog.SegmentSuffix));
        Assert.False(fs.Exists(Path.Combine(Dir, IndexLog.CheckpointName)));
        Assert.Equal(20, second.Index.Count);
        Assert.All(Enumerable.Range(21, 20), id => Assert.False(second.Index.TryGet(id, out _), $"id {id} survived"));
    }

    /// <summary>
    /// Hands everything to a crash-simulating file system, but can skip syncs: a disk (or a code path) that
    /// does not make durable what it acknowledges.
    /// </summary>
    private sealed class SyncSkippingFileSystem(CrashableFileSystem inner) : IStorageFileSystem
    {
        public bool SkipFileSync { get; set; }
        public bool SkipDirectorySync { get; set; }

        public IStorageFile Open(string path) => new SkippingFile(this, inner.Open(path));

        public bool Exists(string path) => inner.Exists(path);

        public IReadOnlyList<string> List(string directory, string suffix) => inner.List(directory, suffix);

        public void Delete(string path) => inner.Delete(path);

        public void Move(string from, string to) => inner.Move(from, to);

        public void CreateDirectory(string path) => inner.CreateDirectory(path);

        public void SyncDirectory(string directory)
        {
            if (!SkipDirectorySync)
                inner.SyncDirectory(directory);
        }

        public IDisposable Lock(string directory) => inner.Lock(directory);

        private sealed class SkippingFile(SyncSkippingFileSystem fs, IStorageFile file) : IStorageFile
        {
            public long Length => file.Length;

            public void Write(ReadOnlySpan<byte> data, long offset) => file.Write(data, offset);

            public int Read(Span<byte> buffer, long offset) => file.Read(buffer, offset);

            public ValueTask<int> ReadAsync(Memory<byte> buffer, long offset, CancellationToken cancellationToken) => file.ReadAsync(buffer, offset, cancellationToken);

            public void Sync()
            {
                if (!fs.SkipFileSync)
                    file.Sync();
            }

            public void SetLength(long length) => file.SetLength(length);

            public void Dispose() => file.Dispose();
        }
    }
}
