using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Tolerex.Member.Storage;
using Tolerex.Protocol.Storage;

namespace Tolerex.Tests.Storage;

/// <summary>The member's log store on real files in a fresh directory.</summary>
public sealed class LogStoreTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tolerex-store-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private LogStore Open(IoMode mode = IoMode.Buffered) => LogStore.Open(_dir, mode, NullLogger<LogStore>.Instance);

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static async Task<string?> ReadText(LogStore store, long id) =>
        await store.ReadAsync(id, Ct) is { } m ? Encoding.UTF8.GetString(m.Payload) : null;

    [Fact]
    public async Task Stores_and_reads_back_keeping_the_highest_version()
    {
        await using var store = Open();
        Assert.Equal(5, await store.StoreAsync(1, 5, B("five"), Ct));
        Assert.Equal(7, await store.StoreAsync(1, 7, B("seven"), Ct));
        // An older write arriving late is ignored and reports the newer version held.
        Assert.Equal(7, await store.StoreAsync(1, 6, B("six"), Ct));
        Assert.Equal("seven", await ReadText(store, 1));
        Assert.Equal(7, (await store.ReadAsync(1, Ct))!.Value.Version);
        Assert.Null(await store.ReadAsync(2, Ct));
        Assert.Equal(new StoreStats(1, 5, 7), store.Stats);
    }

    [Fact]
    public async Task Binary_and_empty_payloads_round_trip()
    {
        var all = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        await using (var store = Open())
        {
            await store.StoreAsync(long.MinValue, 1, all, Ct);
            await store.StoreAsync(long.MaxValue, 2, Array.Empty<byte>(), Ct);
        }

        await using var reopened = Open();
        Assert.Equal(all, (await reopened.ReadAsync(long.MinValue, Ct))!.Value.Payload);
        Assert.Empty((await reopened.ReadAsync(long.MaxValue, Ct))!.Value.Payload);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Reopening_recovers_every_record(bool unbuffered)
    {
        var mode = unbuffered ? IoMode.Unbuffered : IoMode.Buffered;
        await using (var store = Open(mode))
        {
            for (var id = 0; id < 200; id++)
                await store.StoreAsync(id, id + 1, B($"v{id}"), Ct);
            await store.StoreAsync(3, 1000, B("newest"), Ct);
        }

        await using var reopened = Open(mode);
        Assert.Equal(200, reopened.Stats.MessagesHeld);
        Assert.Equal(1000, reopened.Stats.MaxVersion);
        Assert.Equal("newest", await ReadText(reopened, 3));
        Assert.Equal("v199", await ReadText(reopened, 199));
    }

    [Fact]
    public async Task Concurrent_stores_are_group_committed_and_all_durable()
    {
        await using (var store = Open())
        {
            await Parallel.ForAsync(0, 50, async (task, _) =>
            {
                for (var i = 0; i < 40; i++)
                {
                    var id = task * 40 + i;
                    Assert.Equal(id + 1, await store.StoreAsync(id, id + 1, B($"m{id}"), Ct));
                }
            });
            Assert.Equal(2000, store.Stats.MessagesHeld);
            // One fsync covers many records when callers overlap.
            Assert.True(store.SyncCount < 2000, $"{store.SyncCount} fsyncs for 2000 records");
        }

        await using var reopened = Open();
        for (var id = 0; id < 2000; id++)
            Assert.Equal($"m{id}", await ReadText(reopened, id));
    }

    [Fact]
    public async Task Unbuffered_mode_fsyncs_every_record()
    {
        await using var store = Open(IoMode.Unbuffered);
        await Task.WhenAll(Enumerable.Range(0, 50).Select(id => store.StoreAsync(id, 1, B("x"), Ct).AsTask()));
        Assert.Equal(50, store.SyncCount);
    }

    [Fact]
    public async Task A_torn_last_record_is_dropped_at_every_cut_and_earlier_records_survive()
    {
        await using (var store = Open())
        {
            await store.StoreAsync(1, 1, B("first"), Ct);
            await store.StoreAsync(2, 2, B("second"), Ct);
            await store.StoreAsync(3, 3, B("the last record"), Ct);
        }

        var path = Directory.GetFiles(_dir, "*.seg").Single();
        var full = await File.ReadAllBytesAsync(path, Ct);
        var lastSize = LogRecord.SizeOf("the last record".Length);
        for (var keep = 0; keep < lastSize; keep++)
        {
            await File.WriteAllBytesAsync(path, full[..(full.Length - lastSize + keep)], Ct);
            await using (var recovered = Open())
            {
                Assert.Equal("first", await ReadText(recovered, 1));
                Assert.Equal("second", await ReadText(recovered, 2));
                Assert.Null(await recovered.ReadAsync(3, Ct));
                // Appends after recovery land after the truncation point and survive a reopen.
                await recovered.StoreAsync(4, 4, B("after"), Ct);
            }

            await using var again = Open();
            Assert.Equal("after", await ReadText(again, 4));
            Assert.Equal("second", await ReadText(again, 2));
        }
    }

    [Fact]
    public async Task A_zeroed_tail_and_a_flipped_bit_are_not_returned_as_valid()
    {
        await using (var store = Open())
        {
            await store.StoreAsync(1, 1, B("good"), Ct);
            await store.StoreAsync(2, 2, B("damaged"), Ct);
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

    [Fact]
    public void Hardware_and_table_crc32c_agree_with_the_standard_check_value()
    {
        // The CRC-32C check value of "123456789" (RFC 3720).
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        var data = Enumerable.Range(0, 1000).Select(i => (byte)(i * 31)).ToArray();
        Assert.Equal(Crc32C.ComputeSoftware(data), Crc32C.Compute(data));
    }
}
