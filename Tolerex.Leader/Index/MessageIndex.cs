using System.Collections.Concurrent;
using Tolerex.Leader.Membership;

namespace Tolerex.Leader.Index;

/// <summary>Where the newest acknowledged copy of a message lives.</summary>
internal sealed record IndexEntry(long Version, Member[] Replicas);

/// <summary>
/// id → (version, replicas) for every acknowledged SET. An entry is only ever replaced by a higher
/// version, so a slow SET that finishes after a newer one cannot roll the index back.
/// In memory for now; the storage issue makes it durable.
/// </summary>
internal sealed class MessageIndex
{
    private readonly ConcurrentDictionary<long, IndexEntry> _entries = new();
    private long _maxId;
    private long _reservedTo;

    public int Count => _entries.Count;

    /// <summary>Highest id ever indexed (0 when empty); bulk SETs allocate fresh ids above it.</summary>
    public long MaxId => Volatile.Read(ref _maxId);

    public bool TryGet(long id, out IndexEntry entry) => _entries.TryGetValue(id, out entry!);

    /// <summary>Records an acknowledged write; returns false when a newer version is already indexed.</summary>
    public bool Put(long id, IndexEntry entry)
    {
        while (true)
        {
            if (!_entries.TryGetValue(id, out var current))
            {
                if (_entries.TryAdd(id, entry))
                    break;
                continue;
            }

            if (current.Version >= entry.Version)
                return false;
            if (_entries.TryUpdate(id, entry, current))
                break;
        }

        Atomic.Max(ref _maxId, id);
        return true;
    }

    /// <summary>
    /// Reserves <paramref name="count"/> consecutive fresh ids above every id indexed or reserved so far.
    /// Concurrent bulk commands therefore never share ids. False when the id space above is too small.
    /// </summary>
    public bool TryReserveIds(long count, out long first)
    {
        while (true)
        {
            var reserved = Volatile.Read(ref _reservedTo);
            first = Math.Max(reserved, MaxId) + 1;
            if (first <= 0 || first > long.MaxValue - count + 1)
                return false;
            if (Interlocked.CompareExchange(ref _reservedTo, first + count - 1, reserved) == reserved)
                return true;
        }
    }
}
