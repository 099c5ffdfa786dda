using System.Collections.Concurrent;
using Google.Protobuf;

namespace Tolerex.Leader.Replication;

/// <summary>
/// The leader's memory of recently written values, so a GET of one is answered without asking a member. An
/// entry is a value at one version: a GET uses it only when the index names exactly that version, so a newer
/// SET, a DEL or another leader's writes can never make it answer stale data (a version is never reused). It
/// holds at most <c>ValueCacheBytes</c> of values (plus a small overhead per entry), dropping the oldest
/// first, except that a value read since it was last looked at gets a second chance (CLOCK); 0 keeps nothing.
/// Durability is unchanged: a value is cached only once acknowledged, or as read from a member.
/// </summary>
internal sealed class ValueCache(long capacityBytes)
{
    /// <summary>Bookkeeping per entry on top of its value (dictionary slot, entry object, queue record).</summary>
    internal const int EntryOverhead = 96;

    // A class, not a record: entries are told apart by identity (a replaced entry's queue record must not match).
    private sealed class Entry(long version, ByteString value)
    {
        public long Version { get; } = version;
        public ByteString Value { get; } = value;
        public long Size => Value.Length + EntryOverhead;
        /// <summary>Read since eviction last passed it: it goes to the back of the line once instead of out.</summary>
        public bool Referenced { get; set; }
    }

    private readonly ConcurrentDictionary<long, Entry> _entries = new();
    // Entries in the order they were cached; a record whose entry was replaced or removed meanwhile is skipped.
    private readonly ConcurrentQueue<(long Id, Entry Entry)> _order = new();
    private readonly Lock _evicting = new();
    private long _bytes;
    private int _count; // kept here: ConcurrentDictionary.Count takes every lock

    public long Bytes => Volatile.Read(ref _bytes);
    public int Count => Volatile.Read(ref _count);
    public bool Enabled => capacityBytes > 0;

    /// <summary>Keeps <paramref name="value"/> as <paramref name="id"/> at <paramref name="version"/>, unless a newer version is kept already.</summary>
    public void Put(long id, long version, ByteString value)
    {
        if (!Enabled || value.Length + EntryOverhead > capacityBytes)
            return;
        var entry = new Entry(version, value);
        while (true)
        {
            if (_entries.TryGetValue(id, out var current))
            {
                if (current.Version >= version)
                    return;
                if (!_entries.TryUpdate(id, entry, current))
                    continue;
                Interlocked.Add(ref _bytes, entry.Size - current.Size);
            }
            else
            {
                if (!_entries.TryAdd(id, entry))
                    continue;
                Interlocked.Add(ref _bytes, entry.Size);
                Interlocked.Increment(ref _count);
            }

            break;
        }

        _order.Enqueue((id, entry));
        Evict();
    }

    /// <summary>The value of <paramref name="id"/> at exactly <paramref name="version"/>, if kept.</summary>
    public bool TryGet(long id, long version, out ByteString value)
    {
        if (_entries.TryGetValue(id, out var entry) && entry.Version == version)
        {
            if (!entry.Referenced)
                entry.Referenced = true;
            value = entry.Value;
            return true;
        }

        value = ByteString.Empty;
        return false;
    }

    /// <summary>Forgets <paramref name="id"/> (it was deleted): its memory is free at once.</summary>
    public void Remove(long id)
    {
        if (_entries.TryRemove(id, out var entry))
            Forget(entry);
    }

    private bool OverLimit => Bytes > capacityBytes || _order.Count > 2 * Count + 1024;

    private void Forget(Entry entry)
    {
        Interlocked.Add(ref _bytes, -entry.Size);
        Interlocked.Decrement(ref _count);
    }

    private void Evict()
    {
        // One evictor at a time; a writer that finds it busy goes on. The evictor checks again after letting go,
        // so a put that came while it was finishing is not left over the limit.
        while (OverLimit && _evicting.TryEnter())
        {
            try
            {
                while (OverLimit && _order.TryDequeue(out var oldest))
                {
                    if (oldest.Entry.Referenced && _entries.TryGetValue(oldest.Id, out var current) && current == oldest.Entry)
                    {
                        oldest.Entry.Referenced = false;
                        _order.Enqueue(oldest);
                    }
                    else if (_entries.TryRemove(new KeyValuePair<long, Entry>(oldest.Id, oldest.Entry)))
                    {
                        Forget(oldest.Entry);
                    }
                }
            }
            finally
            {
                _evicting.Exit();
            }
        }
    }
}
