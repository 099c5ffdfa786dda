using Tolerex.Leader.Consensus;
using Tolerex.Leader.Membership;

namespace Tolerex.Leader.Index;

/// <summary>
/// A SET's place in the index, from the moment its record is written until it is committed (visible to GET)
/// or abandoned. A record whose copies never got stored (a failed SET, or a crash mid-SET) can come back at
/// recovery; reads then fall back to what the members hold (see ReplicationCoordinator.GetAsync).
/// </summary>
internal sealed class IndexedWrite(MessageIndex index, long id, long version, MemberNode[] placed, JournalAppend record)
{
    private int _ended;

    public long Id { get; } = id;
    public long Version { get; } = version;
    public MemberNode[] Placed { get; } = placed;
    internal JournalAppend Record { get; } = record;

    /// <summary>
    /// Makes the SET visible with the members that hold its copies. False when a newer version was indexed
    /// first (this write is then simply older, and still acknowledged). Throws <see cref="IOException"/> when its
    /// record cannot be made durable: the SET must not be acknowledged.
    /// </summary>
    public Task<bool> CommitAsync(IReadOnlyList<MemberNode> replicas) =>
        Interlocked.Exchange(ref _ended, 1) == 0 ? index.CommitAsync(this, replicas) : throw new InvalidOperationException("the write has already ended");

    /// <summary>The SET failed: nothing becomes visible.</summary>
    public void Abandon()
    {
        if (Interlocked.Exchange(ref _ended, 1) == 0)
            index.Abandon(this);
    }
}
