using Tolerex.Protocol.Storage;
using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Tolerex.Member.Storage;

namespace Tolerex.Tests.Storage;

/// <summary>Segments, tombstones, damage in the middle of the log, compaction and simulated crashes.</summary>
public sealed class SegmentLogTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tolerex-seg-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private LogStore Open(LogStoreOptions? options = null) =>
        LogStore.Open(_dir, options ?? new LogStoreOptions { CompactionMinBytes = long.MaxValue }, NullLogger<LogStore>.Instance);

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static async Task<string?> Text(LogStore store, long id) =>
        await store.ReadAsync(id, Ct) is { } m ? Encoding.UTF8.GetString(m.Payload) : null;

    [Fact]
    public async Task A_damaged_record_in_the_middle_is_skipped_and_reported_and_later_records_survive()
    {
        await using (var store = Open())
        {
            await store.StoreAsync(1, 1, B("first"), Ct);
            await store.StoreAsync(2, 2, B("DAMAGED"), Ct);
            await store.StoreAsync(3, 3, B("third"), Ct);
        }

        var path = Directory.GetFiles(_dir, "*.seg").Single();
        var bytes = await File.ReadAllBytesAsync(path, Ct);
        var second = LogRecord.SizeOf(5);
        bytes[second + LogRecord.HeaderSize + 2] ^= 0x01; // a bit inside "DAMAGED"
        await File.WriteAllBytesAsync(path, bytes, Ct);

        await using var recovered = Open();
        Assert.Equal("first", await Text(recovered, 1));
        Assert.Null(await recovered.ReadAsync(2, Ct));
        Assert.Equal("third", await Text(recovered, 3));
        Assert.Equal(1, recovered.CorruptRecords);
    }

    [Fact]
    public async Task A_record_image_inside_a_torn_message_is_not_resurrected()
    {
        // A client stores a message that contains the bytes of a complete record (checksummed the only way
        // it can, without the store's seal), claiming id 99 with a huge version.
        var forged = new byte[LogRecord.SizeOf(6)];
        LogRecord.Write(forged, seal: 0, RecordKind.Value, id: 99, version: long.MaxValue, "forged"u8);
        byte[] carrier = [.. "head "u8, .. forged, .. " tail"u8];
        await using (var store = Open())
        {
            await store.StoreAsync(1, 1, B("first"), Ct);
            await store.StoreAsync(2, 2, carrier, Ct);
        }

        // A crash tears the carrier after the embedded image but before its own end.
        var path = Directory.GetFiles(_dir, "*.seg").Single();
        var carrierStart = LogRecord.SizeOf(5);
        var cut = carrierStart + LogRecord.HeaderSize + 5 + forged.Length + 2;
        using (var file = File.OpenWrite(path))
            file.SetLength(cut);

        await using var recovered = Open();
        Assert.Equal("first", await Text(recovered, 1));
        Assert.Null(await recovered.ReadAsync(2, Ct));
        Assert.Null(await recovered.ReadAsync(99, Ct));
        Assert.Equal(1, recovered.Stats.MessagesHeld);
    }

    [Fact]
    public async Task A_lost_seal_file_is_recovered_from_the_records()
    {
        await using (var store = Open())
        {
            for (var id = 1; id <= 3; id++)
                await store.StoreAsync(id, id, B($"value {id}"), Ct);
        }

        File.Delete(Path.Combine(_dir, LogSeal.FileName));
        await using (var recovered = Open())
        {
            for (var id = 1; id <= 3; id++)
                Assert.Equal($"value {id}", await Text(recovered, id));
            Assert.Equal(0, recovered.CorruptRecords);
            await recovered.StoreAsync(4, 4, B("value 4"), Ct);
        }

        Assert.True(File.Exists(Path.Combine(_dir, LogSeal.FileName)));
        await using var again = Open();
        Assert.Equal("value 4", await Text(again, 4));
    }

    [Fact]
    public async Task Segments_roll_at_the_configured_size_and_all_are_recovered()
    {
        var options = new LogStoreOptions { SegmentBytes = 4096, CompactionMinBytes = long.MaxValue };
        await using (var store = Open(options))
        {
            for (var id = 0; id < 300; id++)
                await store.StoreAsync(id, id + 1, B($"message {id} " + new string('x', 50)), Ct);
            Assert.True(store.SegmentCount > 5, $"{store.SegmentCount} segments");
        }

        Assert.All(Directory.GetFiles(_dir, "*.seg"), f => Assert.True(new FileInfo(f).Length <= 4096));
        await using var reopened = Open(options);
        for (var id = 0; id < 300; id++)
            Assert.StartsWith($"message {id} ", await Text(reopened, id));
    }

    [Fact]
    public async Task Delete_writes_a_tombstone_that_survives_a_restart()
    {
        await using (var store = Open())
        {
            await store.StoreAsync(1, 10, B("doomed"), Ct);
            await store.StoreAsync(2, 11, B("kept"), Ct);
            Assert.False(await store.DeleteAsync(1, 5, Ct));   // older than the value: the value stays
            Assert.Equal("doomed", await Text(store, 1));
            Assert.True(await store.DeleteAsync(1, 12, Ct));
            Assert.False(await store.DeleteAsync(1, 13, Ct));  // already gone
            Assert.False(await store.DeleteAsync(99, 14, Ct)); // never held
            Assert.Null(await store.ReadAsync(1, Ct));
            Assert.Equal(new StoreStats(1, 4, 12), store.Stats);
        }

        await using var reopened = Open();
        Assert.Null(await reopened.ReadAsync(1, Ct));
        Assert.Equal("kept", await Text(reopened, 2));
        // A newer write after the delete brings the id back.
        await reopened.StoreAsync(1, 20, B("reborn"), Ct);
        Assert.Equal("reborn", await Text(reopened, 1));
    }

    [Fact]
    public async Task Compaction_reclaims_dead_records_and_keeps_every_live_one()
    {
        var options = new LogStoreOptions { SegmentBytes = 8192, CompactionMinBytes = long.MaxValue };
        await using (var store = Open(options))
        {
            long version = 0;
            for (var round = 0; round < 20; round++)
                for (var id = 0; id < 50; id++)
                    await store.StoreAsync(id, ++version, B($"id {id} round {round}"), Ct);
            for (var id = 0; id < 10; id++)
                await store.DeleteAsync(id, ++version, Ct);

            var before = store.TotalBytes;
            await store.CompactNowAsync();
            Assert.Equal(1, store.Compactions);
            Assert.True(store.TotalBytes < before / 10, $"{store.TotalBytes} bytes after, {before} before");
            Assert.Equal(store.LiveBytes, store.TotalBytes);
            for (var id = 0; id < 50; id++)
                Assert.Equal(id < 10 ? null : $"id {id} round 19", await Text(store, id));
        }

        await using var reopened = Open(options);
        for (var id = 0; id < 50; id++)
            Assert.Equal(id < 10 ? null : $"id {id} round 19", await Text(reopened, id));
        Assert.Equal(0, reopened.CorruptRecords);
    }

    [Fact]
    public async Task Writes_and_reads_carry_on_while_compaction_runs()
    {
        var options = new LogStoreOptions { SegmentBytes = 16 * 1024, CompactionThreshold = 0.3, CompactionMinBytes = 32 * 1024 };
        var latest = new ConcurrentDictionary<long, string>();
        await using (var store = Open(options))
        {
            long version = 0;
            await Parallel.ForAsync(0, 8, Ct, async (worker, ct) =>
            {
                for (var i = 0; i < 400; i++)
                {
                    var id = (worker * 31 + i) % 40;
                    var v = Interlocked.Increment(ref version);
                    var text = $"w{worker} i{i} v{v}";
                    if (await store.StoreAsync(id, v, B(text), ct) == v)
                        latest.AddOrUpdate(id, _ => $"{v}|{text}", (_, old) => long.Parse(old.Split('|')[0]) < v ? $"{v}|{text}" : old);
                    Assert.NotNull(await store.ReadAsync(id, ct));
                }
            });

            Assert.True(store.Compactions > 0, "the overwrite load should have triggered compaction");
            await store.CompactNowAsync();
            foreach (var (id, value) in latest)
                Assert.Equal(value.Split('|')[1], await Text(store, id));
        }

        await using var reopened = Open(options);
        foreach (var (id, value) in latest)
            Assert.Equal(value.Split('|')[1], await Text(reopened, id));
    }

    [Fact]
    public async Task In_fsync_mode_no_acknowledged_write_is_lost_at_a_crash()
    {
        var (acked, lost) = await CrashDuringLoad(Durability.Fsync);
        Assert.True(acked > 100, $"only {acked} writes were acknowledged before the crash");
        Assert.Equal(0, lost);
    }

    [Fact]
    public async Task In_os_mode_a_crash_can_lose_acknowledged_writes()
    {
        // The same fault layer and load: without fsync, acknowledged data is lost. This proves the fault
        // layer really drops unsynced data, so the fsync test above can fail.
        var (_, lost) = await CrashDuringLoad(Durability.Os);
        Assert.True(lost > 0);
    }

    [Fact]
    public async Task In_os_mode_a_clean_close_makes_every_write_durable()
    {
        var fs = new CrashableFileSystem();
        var options = new LogStoreOptions { FileSystem = fs, Durability = Durability.Os, SegmentBytes = 4096, CompactionMinBytes = long.MaxValue };
        await using (var store = LogStore.Open(_dir, options, NullLogger<LogStore>.Instance))
        {
            for (var id = 0; id < 200; id++)
                await store.StoreAsync(id, id + 1, B($"message {id} " + new string('x', 30)), Ct);
            Assert.True(store.SegmentCount > 1, $"{store.SegmentCount} segments");
            Assert.Equal(0, store.SyncCount);
        }

        fs.Crash(); // a power loss after the clean shutdown
        await using var recovered = LogStore.Open(_dir, options, NullLogger<LogStore>.Instance);
        Assert.Equal(200, recovered.Stats.MessagesHeld);
        for (var id = 0; id < 200; id++)
            Assert.StartsWith($"message {id} ", await Text(recovered, id));
    }

    [Fact]
    public async Task The_writer_keeps_going_when_a_new_segment_cannot_be_created()
    {
        var fs = new CrashableFileSystem();
        var options = new LogStoreOptions { FileSystem = fs, CompactionThreshold = 0.3, CompactionMinBytes = 1 };
        await using (var store = Open(options))
        {
            await store.StoreAsync(1, 1, B("one"), Ct);
            fs.FailCreate = true;
            // Half the log is now dead, so the writer seals the active segment to compact: that roll fails.
            Assert.Equal(2, await store.StoreAsync(1, 2, B("two"), Ct));
            // Later writes are still taken (into the segment that could not be sealed)...
            Assert.Equal(1, await store.StoreAsync(2, 1, B("other"), Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(30), Ct));
            Assert.Equal(0, store.Compactions);
            // ...and compaction happens once files can be created again.
            fs.FailCreate = false;
            await store.CompactNowAsync();
            Assert.Equal(1, store.Compactions);
            Assert.Equal("two", await Text(store, 1));
            Assert.Equal("other", await Text(store, 2));
        }

        await using var reopened = Open(options);
        Assert.Equal("two", await Text(reopened, 1));
        Assert.Equal("other", await Text(reopened, 2));
    }

    private async Task<(int Acked, int Lost)> CrashDuringLoad(Durability durability)
    {
        var fs = new CrashableFileSystem { HaltOnCrash = true };
        var options = new LogStoreOptions { FileSystem = fs, Durability = durability, SegmentBytes = 16 * 1024, CompactionThreshold = 0.3, CompactionMinBytes = 16 * 1024 };
        var acked = new ConcurrentDictionary<long, long>();
        long version = 0;
        var ackCount = 0;
        var crashed = new TaskCompletionSource();
        var store = LogStore.Open(_dir, options, NullLogger<LogStore>.Instance);
        var writers = Enumerable.Range(0, 16).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; !crashed.Task.IsCompleted; i++)
            {
                var id = (worker * 7919 + i) % 200;
                var v = Interlocked.Increment(ref version);
                try
                {
                    var held = await store.StoreAsync(id, v, B($"v{v} " + new string('p', 40)), CancellationToken.None);
                    acked.AddOrUpdate(id, held, (_, old) => Math.Max(old, held));
                    if (Interlocked.Increment(ref ackCount) == 1500)
                    {
                        fs.Crash();
                        crashed.TrySetResult();
                    }
                }
                catch (IOException)
                {
                    // Writes in flight at the crash are not acknowledged.
                }
            }
        })).ToArray();

        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(60), Ct);
        try
        {
            await store.DisposeAsync();
        }
        catch (IOException)
        {
        }

        fs.Restart();
        await using var recovered = LogStore.Open(_dir, options with { Durability = Durability.Fsync }, NullLogger<LogStore>.Instance);
        var lost = 0;
        foreach (var (id, v) in acked)
        {
            var message = await recovered.ReadAsync(id, Ct);
            if (message is null || message.Value.Version < v)
                lost++;
        }

        return (acked.Count, lost);
    }
}
