using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Tolerex.Leader.Membership;

namespace Tolerex.Leader.Index;

/// <summary>Where the newest acknowledged copy of a message lives. Replica arrays are shared between entries
/// (see <see cref="IndexMap.Intern"/>), so an entry costs 16 bytes plus the dictionary's node.</summary>
internal readonly record struct IndexEntry(long Version, MemberNode[] Replicas);

/// <summary>
/// id → (version, replicas) for every acknowledged SET, in memory. Changed only once a change is durable
/// (see <see cref="MessageIndex"/>); an entry is only ever replaced by a higher version, so a slow SET that
/// finishes after a newer one cannot roll the index back.
/// </summary>
internal sealed class IndexMap
{
    private readonly ConcurrentDictionary<long, IndexEntry> _entries = new();
    // The version each removed id was deleted at (the highest seen), so a read that has to ask every member
    // never serves a copy the deletion superseded. Only what this process applied (a checkpoint keeps none).
    private readonly ConcurrentDictionary<long, long> _deletedAt = new();
    private readonly ConcurrentDictionary<MemberNode[], MemberNode[]> _replicaSets = new(ReplicaSetComparer.Instance);
    private long _maxId;
    private long _maxVersion;
    private long _reservedTo;

    public int Count => _entries.Count;

    /// <summary>Highest id ever indexed (0 when empty); bulk SETs allocate fresh ids above it.</summary>
    public long MaxId => Volatile.Read(ref _maxId);

    /// <summary>Highest version ever indexed or reserved (<see cref="RaiseVersionFloor"/>): a new leader's versions continue above it.</summary>
    public long MaxVersion => Volatile.Read(ref _maxVersion);

    /// <summary>A leader reserved every version below <paramref name="floor"/>: later leaders number above it.</summary>
    public void RaiseVersionFloor(long floor) => Atomic.Max(ref _maxVersion, floor);

    public bool TryGet(long id, out IndexEntry entry) => _entries.TryGetValue(id, out entry);

    public IEnumerable<KeyValuePair<long, IndexEntry>> Entries => _entries;

    /// <summary>One shared array per distinct replica list: with N members there are few of them.</summary>
    public MemberNode[] Intern(MemberNode[] replicas) => _replicaSets.GetOrAdd(replicas, replicas);

    /// <summary>
    /// Records an acknowledged write; false when a newer version is already indexed. The same version with
    /// other replicas replaces them: a SET whose copy moved to a substitute records its final replicas last.
    /// </summary>
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

            if (current.Version > entry.Version || (current.Version == entry.Version && ReferenceEquals(current.Replicas, entry.Replicas)))
                return false;
            if (_entries.TryUpdate(id, entry, current))
                break;
        }

        Atomic.Max(ref _maxId, id);
        Atomic.Max(ref _maxVersion, entry.Version);
        return true;
    }

    /// <summary>Names other replicas for <paramref name="id"/>, only while it is indexed at exactly <paramref name="version"/>.</summary>
    public bool ReplaceReplicas(long id, long version, MemberNode[] replicas)
    {
        while (_entries.TryGetValue(id, out var current) && current.Version == version)
        {
            if (ReferenceEquals(current.Replicas, replicas))
                return false;
            if (_entries.TryUpdate(id, current with { Replicas = replicas }, current))
                return true;
        }

        return false;
    }

    /// <summary>Forgets every entry and deletion (a snapshot from the group's leader replaces them); ids and versions stay reserved.</summary>
    public void Clear()
    {
        _entries.Clear();
        _deletedAt.Clear();
    }

    /// <summary>The version <paramref name="id"/> was last deleted at, as far as this process applied it; 0 if none.</summary>
    public long DeletedAt(long id) => _deletedAt.TryGetValue(id, out var version) ? version : 0;

    /// <summary>Removes an id deleted at <paramref name="version"/>, unless a newer write replaced it.</summary>
    public bool Remove(long id, long version)
    {
        while (_entries.TryGetValue(id, out var current))
        {
            if (current.Version >= version)
                return false;
            if (_entries.TryRemove(new KeyValuePair<long, IndexEntry>(id, current)))
            {
                _deletedAt.AddOrUpdate(id, version, (_, seen) => Math.Max(seen, version));
                return true;
            }
        }

        return false;
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

    private sealed class ReplicaSetComparer : IEqualityComparer<MemberNode[]>
    {
        public static readonly ReplicaSetComparer Instance = new();

        public bool Equals(MemberNode[]? x, MemberNode[]? y) =>
            ReferenceEquals(x, y) || (x is not null && y is not null && x.AsSpan().SequenceEqual(y, ReferenceEqualityComparer.Instance));

        public int GetHashCode(MemberNode[] obj)
        {
            var hash = new HashCode();
            foreach (var m in obj)
                hash.Add(RuntimeHelpers.GetHashCode(m));
            return hash.ToHashCode();
        }
    }
}
