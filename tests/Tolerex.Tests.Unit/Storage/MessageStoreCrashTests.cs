using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Tolerex.Member.Store;
using Tolerex.Storage;
using Tolerex.Storage.Files;

namespace Tolerex.Tests.Unit.Storage;

/// <summary>
/// A member's store crashed (<see cref="CrashableFileSystem"/>) at crash points chosen from a seed, under
/// concurrent stores and deletes with automatic compaction, buffered and unbuffered; at every point of a
/// compaction; and the crash model itself.
/// </summary>
public sealed class MessageStoreCrashTests
{
    /// <summary>The data directory, on the in-memory file system only.</summary>
    private static readonly string Dir = Path.Combine(Path.GetTempPath(), "tolerex-store-crash");

    private const int Workers = 8;
    private const int IdsPerWorker = 6;
    private const int OpsPerWorker = 50;
    private const int PointsPerSeed = 12;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Small segments and an eager compaction, so a short load seals many segments and compacts them.</summary>
    private static MessageStoreOptions Options(IoMode io, bool compact = true) => new()
    {
        Io = io,
        SegmentBytes = 4096,
        PreallocateBytes = 4096,
        CompactionThresholdPercent = 30,
        CompactionMinBytes = compact ? 4096 : long.MaxValue,
    };

    private static MessageStore Open(IStorageFileSystem fs, MessageStoreOptions options) => MessageStore.Open(Dir, options, NullLogger.Instance, fs);

    /// <summary>An id as the store holds it.</summary>
    private readonly record struct State(long Version, string Payload)
    {
        public override string ToString() => $"v{Version}";
    }

    private static string Show(State? state) => state?.ToString() ?? "absent";

    private static async Task<State?> Read(MessageStore store, long id) =>
        await store.ReadAsync(id, Ct) is { } m ? new State(m.Version, Encoding.UTF8.GetString(m.Payload)) : null;

    /// <summary>One id's operations in order (each id has one writer), and what recovery may show for it.</summary>
    private sealed class History(long id)
    {
        private readonly List<string> _ops = [];

        public long Id { get; } = id;
        public int Acknowledged { get; private set; }
        public State? Acked { get; private set; }
        public List<State?> Possible { get; private set; } = [null];

        public void Start(string op, State? outcome)
        {
            _ops.Add(op + " in flight");
            Possible = [Acked, outcome];
        }

        public void Done(State? state, string result)
        {
            _ops[^1] = _ops[^1].Replace(" in flight", " " + result, StringComparison.Ordinal);
            Acked = state;
            Possible = [state];
            Acknowledged++;
        }

        public override string ToString() => string.Join("; ", _ops.TakeLast(8));
    }

    /// <summary>
    /// Where the crash lands: before the <see cref="Change"/>-th file-system change of opening the store when
    /// <see cref="AfterAcks"/> is 0; else before the <see cref="Change"/>-th change after the
    /// <see cref="AfterAcks"/>-th acknowledged write, wherever that falls (a group's write or sync, a roll, a
    /// compaction's copy, rename or deletions); never: a power loss after the load.
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

    private sealed class Trigger(CrashableFileSystem fs, CrashPoint point)
    {
        private int _acks;

        public void Acknowledged()
        {
            if (Interlocked.Increment(ref _acks) == point.AfterAcks)
                fs.CrashBefore(point.Change);
        }
    }

    private sealed record Run(string Point, bool Crashed, int Acknowledged, int Compactions, int StartupChanges, List<string> Lost, List<string> Wrong)
    {
        public bool Clean => Lost.Count == 0 && Wrong.Count == 0;

        public string Describe() =>
            $"{Point} ({(Crashed ? "it crashed" : "it did not crash before the end")}), {Acknowledged} writes acknowledged, "
            + $"{Compactions} compactions: {Lost.Count} ids recovered wrong, {Wrong.Count} other findings"
            + string.Concat(Lost.Concat(Wrong).Take(8).Select(w => "\n  " + w));
    }

    /// <summary>
    /// One crash: 8 writers store and delete their own ids concurrently (sharing group commits, segment rolls and
    /// the compactions the dead records trigger) until the crash at <paramref name="point"/>. The store is then
    /// reopened and every id checked; then every id takes a write at a version above the recovered store's
    /// highest (what the leader's clock observes of a member), which a surviving tombstone must not refuse.
    /// </summary>
    private static async Task<Run> CrashOnceAsync(int seed, IoMode io, CrashPoint point)
    {
        var fs = new CrashableFileSystem { HaltOnCrash = true };
        var trigger = new Trigger(fs, point);
        if (point.AfterAcks == 0)
            fs.CrashBefore(point.Change);
        var histories = Enumerable.Range(1, Workers * IdsPerWorker).Select(id => new History(id)).ToArray();
        var wrong = new ConcurrentQueue<string>();
        var lost = new List<string>();
        long version = 0;
        var crashed = 0;
        var startupChanges = 0;
        MessageStore? store = null;
        try
        {
            store = Open(fs, Options(io));
            startupChanges = fs.Changes;
            var open = store;
            await Task.WhenAll(Enumerable.Range(0, Workers).Select(worker => Task.Run(async () =>
            {
                var rng = new Random(seed * 1000 + worker);
                var owned = histories.Where(h => (h.Id - 1) % Workers == worker).ToArray();
                for (var i = 0; i < OpsPerWorker; i++)
                {
                    var h = owned[rng.Next(owned.Length)];
                    var v = Interlocked.Increment(ref version);
                    try
                    {
                        if (rng.Next(100) < 65)
                        {
                            var text = $"id {h.Id} v{v} " + new string('x', rng.Next(20, 200));
                            h.Start($"STORE v{v}", new State(v, text));
                            var held = await open.StoreAsync(h.Id, v, Encoding.UTF8.GetBytes(text));
                            if (held != v)
                                wrong.Enqueue($"id {h.Id}: STORE v{v} returned {held}");
                            h.Done(new State(v, text), "acknowledged");
                        }
                        else
                        {
                            h.Start($"DEL v{v}", null);
                            var deleted = await open.DeleteAsync(h.Id, v);
                            if (deleted != h.Acked.HasValue)
                                wrong.Enqueue($"id {h.Id}: DEL v{v} returned {deleted} with {Show(h.Acked)} held");
                            h.Done(null, $"acknowledged ({deleted})");
                        }

                        trigger.Acknowledged();
                    }
                    catch (IOException)
                    {
                        Interlocked.Exchange(ref crashed, 1); // not acknowledged: the crash came first
                        return;
                    }
                }
            })));
        }
        catch (IOException)
        {
            crashed = 1; // while opening
        }

        fs.Crash(); // crashed already, or a power loss right after the load
        fs.CrashBefore(int.MaxValue - fs.Changes); // disarmed: recovery runs to the end
        var compactions = store?.Compactions ?? 0;
        if (store is not null)
            await DisposeCrashedAsync(store);
        fs.Restart();

        var news = new Dictionary<long, long>();
        await using (var recovered = Open(fs, Options(io)))
        {
            foreach (var h in histories)
            {
                var got = await Read(recovered, h.Id);
                if (!h.Possible.Contains(got))
                    lost.Add($"id {h.Id}: recovered {Show(got)}, expected {string.Join(" or ", h.Possible.Distinct().Select(Show))}; ops: {h}");
            }

            foreach (var (id, v) in recovered.Held().Where(e => e.Id < 1 || e.Id > histories.Length))
                lost.Add($"id {id}: recovered v{v}, but never written");

            if (recovered.Log.CorruptRecords != 0)
                wrong.Enqueue($"recovery found {recovered.Log.CorruptRecords} damaged records; a crash of this model tears nothing");
            if (fs.List(Dir, ".compacting").Count != 0)
                wrong.Enqueue($"a compaction's temporary files are left: {string.Join(", ", fs.List(Dir, ".compacting"))}");

            var next = recovered.Stats.MaxVersion;
            foreach (var h in histories)
            {
                var v = ++next;
                news[h.Id] = v;
                var held = await recovered.StoreAsync(h.Id, v, Encoding.UTF8.GetBytes($"after v{v}"));
                if (held != v)
                    wrong.Enqueue($"id {h.Id}: a write after recovery at v{v} (above the recovered highest) returned {held}");
            }
        }

        await using (var again = Open(fs, Options(io)))
        {
            foreach (var (id, v) in news)
            {
                if (await Read(again, id) is not { } got || got.Version != v)
                    wrong.Enqueue($"id {id}: the write at v{v} after recovery is not there after a clean restart");
            }
        }

        return new Run($"seed {seed}, io={io}, crash {point}", crashed != 0, histories.Sum(h => h.Acknowledged), compactions, startupChanges, lost, [.. wrong]);
    }

    private static async Task DisposeCrashedAsync(MessageStore store)
    {
        try
        {
            await store.DisposeAsync();
        }
        catch (IOException)
        {
            // Crashed: its files are gone.
        }
    }

    /// <summary>
    /// A compaction moves a value into a new segment, numbered above the active one, which then takes the value's
    /// tombstone; the next compaction deletes both segments. Another sync of the directory (the writer starting a
    /// segment) makes the first deletion durable, and the machine crashes before the second: the deleted value
    /// must not come back from the segment left behind.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task A_deletion_of_compacted_segments_cut_short_by_a_crash_brings_no_deleted_value_back()
    {
        var crashable = new CrashableFileSystem { HaltOnCrash = true };
        var fs = new CrashAfterFirstSegmentDeletion(crashable);
        var store = Open(fs, Options(IoMode.Buffered, compact: false));
        Assert.Equal(1, await store.StoreAsync(1, 1, "deleted later"u8.ToArray()));
        for (var v = 2; v <= 40; v++)
            Assert.Equal(v, await store.StoreAsync(2, v, Encoding.UTF8.GetBytes(new string('z', 200))));
        await store.CompactNowAsync();
        Assert.True(await store.DeleteAsync(1, 41));
        Assert.Equal(1, store.Compactions);

        fs.Armed = true;
        await store.CompactNowAsync(); // the crash fails it (logged)
        Assert.True(fs.Crashed, "the second compaction deleted no segment");
        await DisposeCrashedAsync(store);
        crashable.Restart();

        await using var recovered = Open(crashable, Options(IoMode.Buffered, compact: false));
        Assert.Null(await Read(recovered, 1));
        Assert.Equal(new State(40, new string('z', 200)), await Read(recovered, 2));
    }

    /// <summary>Syncs the directory right after the first segment deletion it sees while armed, then crashes.</summary>
    private sealed class CrashAfterFirstSegmentDeletion(CrashableFileSystem inner) : IStorageFileSystem
    {
        public bool Armed { get; set; }
        public bool Crashed { get; private set; }

        public void Delete(string path)
        {
            inner.Delete(path);
            if (!Armed || Crashed || !path.EndsWith(MessageStore.SegmentSuffix, StringComparison.Ordinal))
                return;
            Crashed = true;
            inner.SyncDirectory(Path.GetDirectoryName(path)!);
            inner.Crash();
            throw new IOException("simulated crash after the first segment deletion became durable");
        }

        public IStorageFile Open(string path) => inner.Open(path);
        public bool Exists(string path) => inner.Exists(path);
        public IReadOnlyList<string> List(string directory, string suffix) => inner.List(directory, suffix);
        public void Move(string from, string to) => inner.Move(from, to);
        public void CreateDirectory(string path) => inner.CreateDirectory(path);
        public void SyncDirectory(string directory) => inner.SyncDirectory(directory);
        public IDisposable Lock(string directory) => inner.Lock(directory);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(1, IoMode.Buffered)]
    [InlineData(2, IoMode.Buffered)]
    [InlineData(3, IoMode.Buffered)]
    [InlineData(1, IoMode.Unbuffered)]
    [InlineData(2, IoMode.Unbuffered)]
    [InlineData(3, IoMode.Unbuffered)]
    public async Task Every_acknowledged_value_and_delete_survives_a_crash_at_seeded_points(int seed, IoMode io)
    {
        // After the load, once during opening, then spread over the load: one point per stretch of its
        // acknowledgements, at a seeded place in it and a seeded 1-8 file-system changes on.
        var rng = new Random(seed);
        var runs = new List<Run> { await CrashOnceAsync(seed, io, CrashPoint.Never) };
        runs.Add(await CrashOnceAsync(seed, io, new CrashPoint(0, 1 + rng.Next(runs[0].StartupChanges))));
        var stretch = Workers * OpsPerWorker * 9 / 10 / PointsPerSeed;
        for (var i = 0; i < PointsPerSeed; i++)
            runs.Add(await CrashOnceAsync(seed, io, new CrashPoint(1 + (i * stretch) + rng.Next(stretch), 1 + rng.Next(8))));

        foreach (var run in runs)
            Assert.True(run.Clean, run.Describe());
        Assert.Equal(Workers * OpsPerWorker, runs[0].Acknowledged);
        Assert.All(runs.Skip(1), r => Assert.True(r.Crashed, r.Describe()));
        Assert.True(runs.Sum(r => r.Compactions) >= 3, $"seed {seed}: the loads completed only {runs.Sum(r => r.Compactions)} compactions");
    }

    /// <summary>
    /// One writer's seeded stores, overwrites and deletes (deterministic: the same seed makes the same segments),
    /// then a compaction of the whole log crashed before each of its file-system changes in turn: the roll that
    /// seals the active segment, the copies into new segments, their sync, rename and directory sync, the
    /// deletion of the sources and its directory sync.
    /// After every crash the store holds exactly what was acknowledged, and compacts again cleanly.
    /// </summary>
    [Theory(Timeout = 60_000)]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Acknowledged_values_and_deletes_survive_a_crash_at_every_point_of_a_compaction(int seed)
    {
        var points = 0;
        for (var crashAt = 1; ; crashAt++)
        {
            var where = $"seed {seed}, crash before change {crashAt} of the compaction";
            var fs = new CrashableFileSystem { HaltOnCrash = true };
            var expected = new Dictionary<long, State?>();
            var store = Open(fs, Options(IoMode.Buffered, compact: false));
            var rng = new Random(seed);
            for (var v = 1; v <= 480; v++)
            {
                var id = 1 + rng.Next(60);
                if (rng.Next(100) < 75)
                {
                    var text = $"id {id} v{v} " + new string('y', rng.Next(20, 200));
                    Assert.Equal(v, await store.StoreAsync(id, v, Encoding.UTF8.GetBytes(text)));
                    expected[id] = new State(v, text);
                }
                else
                {
                    Assert.Equal(expected.GetValueOrDefault(id).HasValue, await store.DeleteAsync(id, v));
                    expected[id] = null;
                }
            }

            var sealedSegments = store.Log.SealedSegments.Count;
            fs.CrashBefore(crashAt);
            await store.CompactNowAsync(); // a failure is logged, not thrown: the next trigger tries again
            var crashed = store.Compactions == 0;
            fs.Crash();
            fs.CrashBefore(int.MaxValue - fs.Changes);
            await DisposeCrashedAsync(store);
            fs.Restart();

            await using (var recovered = Open(fs, Options(IoMode.Buffered, compact: false)))
            {
                await AssertHolds(recovered, expected, where);
                Assert.True(recovered.Log.CorruptRecords == 0, $"{where}: {recovered.Log.CorruptRecords} damaged records");
                Assert.True(fs.List(Dir, ".compacting").Count == 0, $"{where}: temporary files left");
                await recovered.CompactNowAsync();
                Assert.True(recovered.Compactions == 1, $"{where}: the recovered store did not compact");
                await AssertHolds(recovered, expected, where + ", then compacted again");
            }

            await using (var reopened = Open(fs, Options(IoMode.Buffered, compact: false)))
                await AssertHolds(reopened, expected, where + ", compacted again and reopened");

            Assert.True(sealedSegments >= 10, $"seed {seed}: only {sealedSegments} sealed segments to compact");
            if (!crashed)
                break;
            points++;
        }

        Assert.True(points > 20, $"seed {seed}: only {points} crash points in the compaction");
    }

    private static async Task AssertHolds(MessageStore store, Dictionary<long, State?> expected, string where)
    {
        foreach (var (id, state) in expected)
        {
            var got = await Read(store, id);
            Assert.True(got == state, $"{where}: id {id} is {Show(got)}, acknowledged {Show(state)}");
        }

        Assert.Equal(expected.Count(e => e.Value.HasValue), store.Stats.MessagesHeld);
    }

    [Fact]
    public void The_crash_model_keeps_contents_as_of_the_last_sync_and_names_as_of_the_last_directory_sync()
    {
        var fs = new CrashableFileSystem();
        var a = Path.Combine(Dir, "a");
        var b = Path.Combine(Dir, "b");

        // A new file: its synced contents are lost with it when its directory entry was never synced.
        using (var file = fs.Open(a))
        {
            file.Write("one"u8, 0);
            file.Sync();
        }

        fs.Crash();
        Assert.False(fs.Exists(a));

        // Synced contents and a synced entry survive; a later unsynced write, rename or deletion does not.
        using (var file = fs.Open(a))
        {
            file.Write("one"u8, 0);
            file.Sync();
            fs.SyncDirectory(Dir);
            file.Write("two, longer"u8, 0);
        }

        fs.Move(a, b);
        fs.Crash();
        Assert.Equal(["a"], fs.List(Dir, ""));
        Assert.Equal("one", Contents(fs, a));
        fs.Delete(a);
        fs.Crash();
        Assert.Equal("one", Contents(fs, a));

        // Made durable by a directory sync, the rename and the deletion survive.
        fs.Move(a, b);
        fs.SyncDirectory(Dir);
        fs.Crash();
        Assert.Equal(["b"], fs.List(Dir, ""));
        fs.Delete(b);
        fs.SyncDirectory(Dir);
        fs.Crash();
        Assert.Empty(fs.List(Dir, ""));

        // A handle opened before a crash is gone with it.
        using var handle = fs.Open(a);
        fs.Crash();
        Assert.Throws<IOException>(() => handle.Write("x"u8, 0));
    }

    private static string Contents(CrashableFileSystem fs, string path)
    {
        using var file = fs.Open(path);
        var buffer = new byte[file.Length];
        file.Read(buffer, 0);
        return Encoding.UTF8.GetString(buffer);
    }
}
