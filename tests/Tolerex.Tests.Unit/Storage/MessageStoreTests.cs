using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Tolerex.Member.Store;
using Tolerex.Storage;
using Tolerex.Storage.Files;
using Tolerex.Storage.Log;

namespace Tolerex.Tests.Unit.Storage;

/// <summary>The member's log store on real files in a fresh directory.</summary>
public sealed class MessageStoreTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tolerex-store-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private MessageStore Open(IoMode mode = IoMode.Buffered) => MessageStore.Open(_dir, new MessageStoreOptions { Io = mode }, NullLogger.Instance);

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static async Task<string?> ReadText(MessageStore store, long id) =>
        await store.ReadAsync(id, Ct) is { } m ? Encoding.UTF8.GetString(m.Payload) : null;

    [Fact(Timeout = 60_000)]
    public async Task Stores_and_reads_back_keeping_the_highest_version()
    {
        await using var store = Open();
        Assert.Equal(5, await store.StoreAsync(1, 5, B("five")));
        Assert.Equal(7, await store.StoreAsync(1, 7, B("seven")));
        // An older write arriving late is ignored and reports the newer version held.
        Assert.Equal(7, await store.StoreAsync(1, 6, B("six")));
        Assert.Equal("seven", await ReadText(store, 1));
        Assert.Equal(7, (await store.ReadAsync(1, Ct))!.Value.Version);
        Assert.Null(await store.ReadAsync(2, Ct));
        Assert.Equal(new StoreStats(1, 5, 7), store.Stats);
    }

    [Fact(Timeout = 60_000)]
    public async Task Binary_and_empty_payloads_round_trip()
    {
        var all = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        await using (var store = Open())
        {
            await store.StoreAsync(long.MinValue, 1, all);
            await store.StoreAsync(long.MaxValue, 2, Array.Empty<byte>());
        }

        await using var reopened = Open();
        Assert.Equal(all, (await reopened.ReadAsync(long.MinValue, Ct))!.Value.Payload);
        Assert.Empty((await reopened.ReadAsync(long.MaxValue, Ct))!.Value.Payload);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Reopening_recovers_every_record(bool unbuffered)
    {
        var mode = unbuffered ? IoMode.Unbuffered : IoMode.Buffered;
        await using (var store = Open(mode))
        {
            for (var id = 0; id < 200; id++)
                await store.StoreAsync(id, id + 1, B($"v{id}"));
            await store.StoreAsync(3, 1000, B("newest"));
        }

        await using var reopened = Open(mode);
        Assert.Equal(200, reopened.Stats.MessagesHeld);
        Assert.Equal(1000, reopened.Stats.MaxVersion);
        Assert.Equal("newest", await ReadText(reopened, 3));
        Assert.Equal("v199", await ReadText(reopened, 199));
    }

    [Fact(Timeout = 60_000)]
    public async Task Concurrent_stores_are_group_committed_and_all_durable()
    {
        await using (var store = Open())
        {
            await Parallel.ForAsync(0, 50, async (task, _) =>
            {
                for (var i = 0; i < 40; i++)
                {
                    var id = task * 40 + i;
                    Assert.Equal(id + 1, await store.StoreAsync(id, id + 1, B($"m{id}")));
                }
            });
            Assert.Equal(2000, store.Stats.MessagesHeld);
            // One fsync covers many records when callers overlap.
            Assert.True(store.Log.SyncCount < 2000, $"{store.Log.SyncCount} fsyncs for 2000 records");
        }

        await using var reopened = Open();
        for (var id = 0; id < 2000; id++)
            Assert.Equal($"m{id}", await ReadText(reopened, id));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_burst_of_concurrent_stores_shares_few_fsyncs()
    {
        // 50 tasks each put 40 writes in flight at once: the writer finds many queued and commits them together.
        await using (var store = Open())
        {
            await Task.WhenAll(Enumerable.Range(0, 50).Select(task => Task.Run(async () =>
            {
                var pending = new List<Task<long>>();
                for (var i = 0; i < 40; i++)
                {
                    var id = task * 40 + i;
                    pending.Add(store.StoreAsync(id, id + 1, B($"m{id}")));
                }

                var held = await Task.WhenAll(pending);
                for (var i = 0; i < 40; i++)
                    Assert.Equal(task * 40 + i + 1, held[i]);
            }, Ct)));

            Assert.Equal(2000, store.Stats.MessagesHeld);
            Assert.True(store.Log.SyncCount <= 100, $"{store.Log.SyncCount} fsyncs for 2000 records");
        }

        await using var reopened = Open();
        Assert.Equal(2000, reopened.Stats.MessagesHeld);
        for (var id = 0; id < 2000; id++)
            Assert.Equal($"m{id}", await ReadText(reopened, id));
    }

    [Fact(Timeout = 60_000)]
    public async Task Versions_of_one_id_queued_together_are_decided_in_order_and_superseded_ones_are_not_written()
    {
        // 100 ids, each sent versions 5, 3, 9, 7 without waiting, so most land in the same commit group.
        var pending = new List<(long Id, long Version, Task<long> Held)>();
        await using (var store = Open())
        {
            for (var id = 0; id < 100; id++)
            {
                foreach (var version in new long[] { 5, 3, 9, 7 })
                    pending.Add((id, version, store.StoreAsync(id, version, B($"{id}@{version}"))));
            }

            foreach (var (id, version, held) in pending)
                Assert.Equal(version is 5 or 3 ? 5 : 9, await held);
            // Fewer commits than ids: records of one id really shared a group.
            Assert.True(store.Log.SyncCount < 100, $"{store.Log.SyncCount} fsyncs");
            for (var id = 0; id < 100; id++)
                Assert.Equal($"{id}@9", await ReadText(store, id));
        }

        // Only versions 5 and 9 of each id were written.
        var path = Directory.GetFiles(_dir, "*.seg").Single();
        var expected = Enumerable.Range(0, 100).Sum(id => RecordFrame.SizeOf($"{id}@5".Length) + RecordFrame.SizeOf($"{id}@9".Length));
        Assert.Equal(expected, new FileInfo(path).Length);
        await using var reopened = Open();
        for (var id = 0; id < 100; id++)
            Assert.Equal($"{id}@9", await ReadText(reopened, id));
    }

    [Fact(Timeout = 60_000)]
    public async Task Concurrent_stores_of_the_same_ids_keep_the_highest_version()
    {
        var highest = new long[5];
        long next = 0;
        await using (var store = Open())
        {
            await Parallel.ForAsync(0, 8, Ct, async (_, ct) =>
            {
                for (var i = 0; i < 250; i++)
                {
                    var version = Interlocked.Increment(ref next);
                    var id = version % highest.Length;
                    var held = await store.StoreAsync(id, version, B($"v{version}"));
                    Assert.True(held >= version, $"id {id}: stored {version}, told {held}");
                    InterlockedMax(ref highest[id], version);
                }
            });

            await AssertHighest(store);
        }

        await using var reopened = Open();
        await AssertHighest(reopened);

        async Task AssertHighest(MessageStore s)
        {
            for (var id = 0; id < highest.Length; id++)
            {
                var message = await s.ReadAsync(id, Ct);
                Assert.Equal(highest[id], message!.Value.Version);
                Assert.Equal($"v{highest[id]}", Encoding.UTF8.GetString(message.Value.Payload));
            }

            Assert.Equal(new StoreStats(highest.Length, highest.Sum(v => $"v{v}".Length), highest.Max()), s.Stats);
        }

        static void InterlockedMax(ref long target, long value)
        {
            for (var seen = Volatile.Read(ref target); seen < value; seen = Volatile.Read(ref target))
            {
                if (Interlocked.CompareExchange(ref target, value, seen) == seen)
                    return;
            }
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Stats_count_ids_live_payload_bytes_and_the_highest_version()
    {
        await using (var store = Open())
        {
            Assert.Equal(new StoreStats(0, 0, 0), store.Stats);
            await store.StoreAsync(1, 1, B("abc"));
            await store.StoreAsync(2, 2, Array.Empty<byte>());
            await store.StoreAsync(3, 3, new byte[10]);
            Assert.Equal(new StoreStats(3, 13, 3), store.Stats);
            await store.StoreAsync(1, 4, B("abcdefg")); // replaces 3 bytes with 7
            Assert.Equal(new StoreStats(3, 17, 4), store.Stats);
            await store.StoreAsync(2, 1, B("superseded")); // not stored, not counted
            Assert.Equal(new StoreStats(3, 17, 4), store.Stats);
        }

        await using var reopened = Open();
        Assert.Equal(new StoreStats(3, 17, 4), reopened.Stats);
    }

    [Fact(Timeout = 60_000)]
    public async Task Unbuffered_mode_fsyncs_every_record()
    {
        await using var store = Open(IoMode.Unbuffered);
        await Task.WhenAll(Enumerable.Range(0, 50).Select(id => store.StoreAsync(id, 1, B("x"))));
        Assert.Equal(50, store.Log.SyncCount);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_torn_last_record_is_dropped_at_every_cut_and_earlier_records_survive(bool unbuffered)
    {
        var mode = unbuffered ? IoMode.Unbuffered : IoMode.Buffered;
        await using (var store = Open(mode))
        {
            await store.StoreAsync(1, 1, B("first"));
            await store.StoreAsync(2, 2, B("second"));
            await store.StoreAsync(3, 3, B("the last record"));
        }

        var path = Directory.GetFiles(_dir, "*.seg").Single();
        var full = await File.ReadAllBytesAsync(path, Ct);
        var lastSize = RecordFrame.SizeOf("the last record".Length);
        for (var keep = 0; keep < lastSize; keep++)
        {
            await File.WriteAllBytesAsync(path, full[..(full.Length - lastSize + keep)], Ct);
            await using (var recovered = Open(mode))
            {
                Assert.Equal("first", await ReadText(recovered, 1));
                Assert.Equal("second", await ReadText(recovered, 2));
                Assert.Null(await recovered.ReadAsync(3, Ct));
                // Appends after recovery land after the truncation point and survive a reopen.
                await recovered.StoreAsync(4, 4, B("after"));
            }

            await using var again = Open(mode);
            Assert.Equal("after", await ReadText(again, 4));
            Assert.Equal("second", await ReadText(again, 2));
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_zeroed_tail_and_a_flipped_bit_are_not_returned_as_valid()
    {
        await using (var store = Open())
        {
            await store.StoreAsync(1, 1, B("good"));
            await store.StoreAsync(2, 2, B("damaged"));
        }

        var path = Directory.GetFiles(_dir, "*.seg").Single();
        var bytes = await File.ReadAllBytesAsync(path, Ct);
        bytes[^6] ^= 0x10; // inside the last payload
        await File.WriteAllBytesAsync(path, [.. bytes, .. new byte[4096]], Ct);

        await using var recovered = Open();
        Assert.Equal("good", await ReadText(recovered, 1));
        Assert.Null(await recovered.ReadAsync(2, Ct));
        Assert.Equal(1, recovered.Stats.MessagesHeld);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_zeroed_tail_is_the_clean_end_and_every_record_before_it_survives()
    {
        await using (var store = Open())
        {
            await store.StoreAsync(1, 1, B("one"));
            await store.StoreAsync(2, 2, B("two"));
            await store.StoreAsync(3, 3, B("three"));
        }

        // A clean shutdown gives the preallocated space back: the file is exactly its records.
        var path = Directory.GetFiles(_dir, "*.seg").Single();
        var written = new FileInfo(path).Length;
        Assert.Equal(RecordFrame.SizeOf(3) + RecordFrame.SizeOf(3) + RecordFrame.SizeOf(5), written);
        await using (var stream = new FileStream(path, FileMode.Append))
            await stream.WriteAsync(new byte[4096], Ct);

        await using (var recovered = Open())
        {
            Assert.Equal(0, recovered.Log.CorruptRecords); // zeros are space, not damage
            Assert.Equal(new StoreStats(3, 11, 3), recovered.Stats);
            Assert.Equal("one", await ReadText(recovered, 1));
            Assert.Equal("three", await ReadText(recovered, 3));
            await recovered.StoreAsync(4, 4, B("four"));
        }

        // The new record went where the zeros began, not after them.
        Assert.Equal(written + RecordFrame.SizeOf(4), new FileInfo(path).Length);
        await using var again = Open();
        Assert.Equal(0, again.Log.CorruptRecords);
        Assert.Equal("three", await ReadText(again, 3));
        Assert.Equal("four", await ReadText(again, 4));
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task With_preallocated_space_a_torn_last_record_is_dropped_at_every_cut(bool unbuffered)
    {
        var mode = unbuffered ? IoMode.Unbuffered : IoMode.Buffered;
        byte[] image;
        var path = "";
        await using (var store = Open(mode))
        {
            await store.StoreAsync(1, 1, B("first"));
            await store.StoreAsync(2, 2, B("second"));
            await store.StoreAsync(3, 3, B("the last record"));
            // What a crash would leave: acknowledged records, then the zeroed space the writer keeps ahead.
            path = Directory.GetFiles(_dir, "*.seg").Single();
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            image = new byte[file.Length];
            await file.ReadExactlyAsync(image, Ct);
        }

        var end = RecordFrame.SizeOf(5) + RecordFrame.SizeOf(6) + RecordFrame.SizeOf(15);
        Assert.True(image.Length >= end + 1024 * 1024, $"only {image.Length} bytes: no space was preallocated");
        Assert.True(Preallocation.IsZeroTail(image.AsSpan(end)));
        var lastSize = RecordFrame.SizeOf(15);
        for (var keep = 0; keep <= lastSize; keep++)
        {
            // The torn record's first bytes reached the disk, the rest of it is still zeros.
            var torn = image.ToArray();
            torn.AsSpan(end - lastSize + keep, lastSize - keep).Clear();
            await File.WriteAllBytesAsync(path, torn, Ct);
            await using (var recovered = Open(mode))
            {
                Assert.Equal("first", await ReadText(recovered, 1));
                Assert.Equal("second", await ReadText(recovered, 2));
                if (keep == lastSize)
                    Assert.Equal("the last record", await ReadText(recovered, 3));
                else
                    Assert.Null(await recovered.ReadAsync(3, Ct));
                Assert.Equal(keep == 0 || keep == lastSize ? 0 : 1, recovered.Log.CorruptRecords);
                await recovered.StoreAsync(4, 4, B("after"));
            }

            await using var again = Open(mode);
            Assert.Equal("after", await ReadText(again, 4));
            Assert.Equal("second", await ReadText(again, 2));
            Assert.Equal(0, again.Log.CorruptRecords);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_payload_damaged_on_disk_after_it_was_written_fails_its_read_instead_of_being_served()
    {
        await using var store = Open();
        await store.StoreAsync(1, 1, B("good"));
        await store.StoreAsync(2, 2, B("will rot"));
        await store.StoreAsync(3, 3, B("also good"));

        // A bit of "will rot" flips in the file while the store is open (the page cache holds the change).
        var path = Directory.GetFiles(_dir, "*.seg").Single();
        var bytes = await File.ReadAllBytesAsync(path, Ct);
        var at = bytes.AsSpan().IndexOf("will rot"u8);
        Assert.True(at > 0);
        await using (var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            file.Position = at + 2;
            file.WriteByte((byte)(bytes[at + 2] ^ 0x01));
        }

        await Assert.ThrowsAsync<InvalidDataException>(async () => await store.ReadAsync(2, Ct));
        Assert.Equal("good", await ReadText(store, 1));
        Assert.Equal("also good", await ReadText(store, 3));
    }

    [Fact(Timeout = 30_000)]
    public async Task A_flipped_bit_in_the_last_payload_makes_that_record_absent()
    {
        await using (var store = Open())
        {
            await store.StoreAsync(1, 1, B("good"));
            await store.StoreAsync(2, 2, B("flipped"));
        }

        var path = Directory.GetFiles(_dir, "*.seg").Single();
        var bytes = await File.ReadAllBytesAsync(path, Ct);
        bytes[^(RecordFrame.TrailerSize + 3)] ^= 0x01; // a bit of "flipped"
        await File.WriteAllBytesAsync(path, bytes, Ct);

        await using (var recovered = Open())
        {
            Assert.Equal(1, recovered.Log.CorruptRecords);
            Assert.Equal(new StoreStats(1, 4, 1), recovered.Stats);
            Assert.Equal("good", await ReadText(recovered, 1));
            Assert.Null(await recovered.ReadAsync(2, Ct));
            await recovered.StoreAsync(2, 3, B("rewritten"));
        }

        await using var again = Open();
        Assert.Equal("good", await ReadText(again, 1));
        Assert.Equal("rewritten", await ReadText(again, 2));
    }
}
