using CsCheck;
using Google.Protobuf;
using Tolerex.Leader.Replication;

namespace Tolerex.Tests.Unit.Leader;

public class ValueCacheTests
{
    private static ByteString Value(string text) => ByteString.CopyFromUtf8(text);

    [Fact]
    public void A_value_answers_only_for_the_exact_version_it_was_kept_at()
    {
        var cache = new ValueCache(1 << 20);
        cache.Put(1, 10, Value("ten"));
        Assert.True(cache.TryGet(1, 10, out var value));
        Assert.Equal("ten", value.ToStringUtf8());
        // The index names another version (a newer SET, or an older one after a failover): not this value.
        Assert.False(cache.TryGet(1, 11, out _));
        Assert.False(cache.TryGet(1, 9, out _));
        Assert.False(cache.TryGet(2, 10, out _));
    }

    [Fact]
    public void The_newest_version_wins_whatever_order_puts_arrive_in()
    {
        var cache = new ValueCache(1 << 20);
        cache.Put(1, 11, Value("eleven"));
        cache.Put(1, 10, Value("ten")); // a read of an older copy finishing late
        Assert.True(cache.TryGet(1, 11, out _));
        Assert.False(cache.TryGet(1, 10, out _));
        cache.Put(1, 12, Value("twelve"));
        Assert.True(cache.TryGet(1, 12, out var value));
        Assert.Equal("twelve", value.ToStringUtf8());
        Assert.Equal(1, cache.Count);
        Assert.Equal(6 + ValueCache.EntryOverhead, cache.Bytes);
    }

    [Fact]
    public void It_stays_within_its_size_dropping_the_oldest_unread_values_first()
    {
        var entry = 100 + ValueCache.EntryOverhead;
        var cache = new ValueCache(10 * entry);
        for (var id = 1; id <= 25; id++)
            cache.Put(id, id, ByteString.CopyFrom(new byte[100]));
        Assert.True(cache.Bytes <= 10 * entry, $"{cache.Bytes} bytes");
        Assert.Equal(10, cache.Count);
        Assert.False(cache.TryGet(1, 1, out _));
        Assert.True(cache.TryGet(25, 25, out _));
        Assert.True(cache.TryGet(16, 16, out _));
    }

    [Fact]
    public void A_value_read_since_eviction_last_passed_it_outlives_older_unread_ones()
    {
        var entry = 100 + ValueCache.EntryOverhead;
        var cache = new ValueCache(10 * entry);
        for (var id = 1; id <= 10; id++)
            cache.Put(id, id, ByteString.CopyFrom(new byte[100]));
        Assert.True(cache.TryGet(1, 1, out _)); // the oldest, but read
        for (var id = 11; id <= 15; id++)
            cache.Put(id, id, ByteString.CopyFrom(new byte[100]));
        Assert.True(cache.TryGet(1, 1, out _));
        Assert.False(cache.TryGet(2, 2, out _));
        Assert.False(cache.TryGet(6, 6, out _));
        Assert.True(cache.TryGet(7, 7, out _));
        Assert.Equal(10, cache.Count);
    }

    [Fact]
    public void Rewriting_one_id_again_and_again_keeps_one_entry_and_bounded_bookkeeping()
    {
        var cache = new ValueCache(1 << 20);
        for (var version = 1; version <= 100_000; version++)
            cache.Put(7, version, Value("v"));
        Assert.Equal(1, cache.Count);
        Assert.Equal(1 + ValueCache.EntryOverhead, cache.Bytes);
        Assert.True(cache.TryGet(7, 100_000, out _));
    }

    [Fact]
    public void A_deleted_id_is_forgotten_and_no_longer_counted()
    {
        var cache = new ValueCache(1 << 20);
        cache.Put(1, 10, Value("ten"));
        cache.Remove(1);
        Assert.False(cache.TryGet(1, 10, out _));
        Assert.Equal(0, cache.Bytes);
        cache.Remove(1); // already gone: nothing changes
        Assert.Equal(0, cache.Bytes);
    }

    [Fact]
    public void A_value_handed_out_stays_as_it_was_when_the_ring_is_written_over()
    {
        var cache = new ValueCache(4 * (8 + ValueCache.EntryOverhead));
        cache.Put(1, 1, Value("original"));
        Assert.True(cache.TryGet(1, 1, out var value));
        for (var id = 2; id <= 20; id++)
            cache.Put(id, id, Value("xxxxxxxx"));
        Assert.False(cache.TryGet(1, 1, out _));
        Assert.Equal("original", value.ToStringUtf8());
    }

    /// <summary>One step against the cache: a put of a value of some length, a get, or a delete, of a few ids.</summary>
    private static readonly Gen<(int Kind, int Id, int Length)> Step = Gen.Select(Gen.Int[0, 9], Gen.Int[0, 11], Gen.Int[0, 90]);

    [Fact]
    public void Values_of_any_size_read_back_exactly_as_put_however_the_ring_wraps() =>
        Gen.Select(Gen.Int[ValueCache.EntryOverhead, 600], Step.Array[1, 400]).Sample((capacity, steps) =>
        {
            var cache = new ValueCache(capacity);
            var written = new Dictionary<long, (long Id, byte[] Value)>(); // every version put, by version
            var newest = new Dictionary<long, long>(); // id -> newest version put since its last delete
            long version = 0;
            foreach (var (kind, id, length) in steps)
            {
                if (kind < 5)
                {
                    var value = new byte[Math.Min(length, capacity - ValueCache.EntryOverhead)];
                    Random.Shared.NextBytes(value);
                    written[++version] = (id, value);
                    newest[id] = version;
                    cache.Put(id, version, ByteString.CopyFrom(value));
                    // The newest value of an id is always there right after its put.
                    Assert.True(cache.TryGet(id, version, out var back));
                    Assert.Equal(value, back.ToByteArray());
                }
                else if (kind < 9)
                {
                    // A hit is always exactly the bytes put at that version; an older version never answers.
                    for (var v = Math.Max(1, version - 30); v <= version; v++)
                    {
                        if (written[v].Id != id || !cache.TryGet(id, v, out var back))
                            continue;
                        Assert.Equal(newest.GetValueOrDefault(id), v);
                        Assert.Equal(written[v].Value, back.ToByteArray());
                    }
                }
                else
                {
                    cache.Remove(id);
                    newest.Remove(id);
                    Assert.False(cache.TryGet(id, version, out _));
                }

                Assert.InRange(cache.Bytes, 0, capacity);
                Assert.InRange(cache.Count, 0, newest.Count);
            }
        }, iter: 2000);

    [Fact]
    public void Off_or_too_small_for_a_value_it_keeps_nothing()
    {
        var off = new ValueCache(0);
        off.Put(1, 1, Value("x"));
        Assert.False(off.Enabled);
        Assert.False(off.TryGet(1, 1, out _));

        var small = new ValueCache(ValueCache.EntryOverhead + 10);
        small.Put(1, 1, ByteString.CopyFrom(new byte[11]));
        Assert.False(small.TryGet(1, 1, out _));
        Assert.Equal(0, small.Bytes);
    }

    [Fact]
    public async Task Concurrent_writers_and_readers_keep_the_accounting_exact()
    {
        var cache = new ValueCache(50 * (10 + ValueCache.EntryOverhead));
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            for (var i = 0; i < 20_000; i++)
            {
                var id = i % 200;
                cache.Put(id, i * 4 + w, ByteString.CopyFrom(new byte[10]));
                cache.TryGet(id, i * 4 + w, out _);
                if (i % 97 == 0)
                    cache.Remove(id);
            }
        }, TestContext.Current.CancellationToken)));
        // Whatever interleaving happened, the byte count is exactly what the entries left hold.
        Assert.Equal(cache.Count * (10L + ValueCache.EntryOverhead), cache.Bytes);
        Assert.True(cache.Count <= 50, $"{cache.Count} entries");
    }
}
