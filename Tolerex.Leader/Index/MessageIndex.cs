using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Consensus;
using Tolerex.Leader.Membership;

namespace Tolerex.Leader.Index;

internal enum DeleteOutcome
{
    /// <summary>The id is not indexed.</summary>
    NotFound,
    /// <summary>The delete is durable; the replicas it names should get tombstones.</summary>
    Deleted,
    /// <summary>A SET that came after the DEL rewrote the id first: the DEL took effect before it.</summary>
    Superseded,
}

/// <summary>
/// The leader's index: where the newest acknowledged copy of every id lives. This is the whole contract the
/// SET, GET and DEL paths use. A SET's record is made durable while its copies are stored, and becomes visible
/// only when the SET commits (<see cref="BeginWrite(long, Func{long}, MemberNode[])"/>); a DEL waits for the SETs of its id already in flight,
/// so its record follows theirs on disk as its effect follows theirs in memory.
/// </summary>
internal sealed partial class MessageIndex(IndexMap map, IndexJournal journal, IndexStateMachine machine, IOptions<LeaderOptions> options, ILogger<MessageIndex> logger)
{
    private readonly WritesInFlight _writes = new();

    public int Count => map.Count;
    /// <summary>Highest id ever indexed (0 when empty).</summary>
    public long MaxId => map.MaxId;
    /// <summary>Highest version ever indexed: a restarted leader's versions continue above it.</summary>
    public long MaxVersion => map.MaxVersion;

    public bool TryGet(long id, out IndexEntry entry) => map.TryGet(id, out entry);

    /// <inheritdoc cref="IndexMap.DeletedAt"/>
    public long DeletedAt(long id) => map.DeletedAt(id);

    /// <inheritdoc cref="IndexMap.TryReserveIds"/>
    public bool TryReserveIds(long count, out long first) => map.TryReserveIds(count, out first);

    /// <summary>
    /// Starts indexing a SET of <paramref name="id"/> whose copies go to <paramref name="placed"/>: its record is
    /// written now, alongside the copies. The SET then commits with the members that hold its copies, or is
    /// abandoned; either way exactly once.
    /// </summary>
    public IndexedWrite BeginWrite(long id, long version, MemberNode[] placed) => BeginWrite(id, () => version, placed);

    /// <summary>
    /// Like <see cref="BeginWrite(long, long, MemberNode[])"/>, taking the version from <paramref name="nextVersion"/>
    /// only once the write counts as in flight. A DEL takes its version and then waits for the SETs in flight,
    /// so a SET is either waited for or numbered after the DEL; a SET numbered before a DEL that did not wait
    /// for it would commit an older version after the DEL's tombstones had removed its copies.
    /// </summary>
    public IndexedWrite BeginWrite(long id, Func<long> nextVersion, MemberNode[] placed)
    {
        _writes.Enter(id);
        var version = nextVersion();
        return new IndexedWrite(this, id, version, placed, journal.Append(IndexRecords.PutOf(id, version, placed), apply: false));
    }

    /// <summary>Every indexed id, as it is at this moment (SETs and DELs go on meanwhile).</summary>
    public IEnumerable<KeyValuePair<long, IndexEntry>> Entries => map.Entries;

    /// <summary>True while a SET or a repair of <paramref name="id"/> is in flight.</summary>
    public bool Writing(long id) => _writes.Busy(id);

    /// <summary>Completes when no SET or repair of <paramref name="id"/> is in flight.</summary>
    public Task WhenWritesDone(long id) => _writes.WhenIdle(id);

    /// <summary>
    /// Marks a repair of <paramref name="id"/> as in flight until disposed: a DEL waits for it (as for a SET), so
    /// its tombstones reach the members the repair adds.
    /// </summary>
    public RepairHold HoldForRepair(long id)
    {
        _writes.Enter(id);
        return new RepairHold(_writes, id);
    }

    /// <summary>
    /// Durably names <paramref name="replicas"/> as the holders of <paramref name="id"/>, only while it is
    /// indexed at exactly <paramref name="version"/> (a newer SET or a DEL meanwhile wins); true when it did.
    /// </summary>
    public Task<bool> ReplaceReplicasAsync(long id, long version, MemberNode[] replicas) =>
        journal.Append(IndexRecords.ReplicasOf(id, version, replicas), apply: true, replicas).Done;

    /// <summary>Durably marks <paramref name="member"/> as leaving: repair moves its copies off it and placement skips it.</summary>
    public Task DecommissionAsync(MemberNode member) => journal.Append(IndexRecords.DecommissionedOf(member.Number), apply: true).Done;

    /// <summary>Durably reserves every version below <paramref name="floor"/> for this leader: a later leader starts above it.</summary>
    public Task ReserveVersionsAsync(long floor) => journal.Append(IndexRecords.FloorOf(floor), apply: true).Done;

    /// <summary>Records that <paramref name="member"/> exists (with its identity), so index records may name it.</summary>
    public Task RecordMemberAsync(MemberNode member) =>
        journal.Append(IndexRecords.MemberOf(member.Number, member.Address, member.Identity), apply: false).Done;

    /// <summary>
    /// Deletes <paramref name="id"/> at <paramref name="version"/>, durably, after the SETs of this id already in
    /// flight. Throws <see cref="IOException"/> when they are still in flight after a SET's longest time (the write
    /// timeout, and a store timeout for its index record), or
    /// when the record cannot be made durable.
    /// </summary>
    public async Task<(DeleteOutcome Outcome, MemberNode[] Replicas)> DeleteAsync(long id, long version)
    {
        try
        {
            await _writes.WhenIdle(id).WaitAsync(options.Value.WriteTimeout + options.Value.StoreTimeout);
        }
        catch (TimeoutException)
        {
            // Deleting now could remove the copies of a SET numbered before this DEL that commits afterwards,
            // leaving an indexed version no replica holds. The DEL fails instead; the client may retry it.
            LogDeleteDidNotWait(logger, id);
            throw new IOException($"DEL id={id}: a SET of this id is still in flight");
        }

        if (!map.TryGet(id, out var entry))
            return (DeleteOutcome.NotFound, []);
        if (await journal.Append(IndexRecords.DeleteOf(id, version), apply: true).Done)
            return (DeleteOutcome.Deleted, entry.Replicas);
        // Deleted concurrently (absent), or rewritten by a SET that came after this DEL.
        return (map.TryGet(id, out _) ? DeleteOutcome.Superseded : DeleteOutcome.NotFound, []);
    }

    internal async Task<bool> CommitAsync(IndexedWrite write, IReadOnlyList<MemberNode> replicas)
    {
        try
        {
            await write.Record.Done;
            if (!SameMembers(replicas, write.Placed))
            {
                // A copy moved: the durable record must name the members that hold it before the acknowledgement.
                MemberNode[] moved = [.. replicas];
                return await journal.Append(IndexRecords.PutOf(write.Id, write.Version, moved), apply: true, moved).Done;
            }

            var applied = map.Put(write.Id, new IndexEntry(write.Version, map.Intern(write.Placed)));
            // A snapshot stands for every entry up to its index and the log then drops them, so a record committed
            // before a snapshot began but applied after it read past its id would be in neither.
            if (machine.SnapshotCovers(write.Record.EntryIndex))
                await journal.Append(IndexRecords.PutOf(write.Id, write.Version, write.Placed), apply: false).Done;
            return applied;
        }
        finally
        {
            _writes.Exit(write.Id);
        }
    }

    internal void Abandon(IndexedWrite write) => _writes.Exit(write.Id);

    private static bool SameMembers(IReadOnlyList<MemberNode> a, MemberNode[] b)
    {
        // A loop, not a LINQ predicate: every SET's commit asks, and a capturing lambda allocates each time.
        if (a.Count != b.Length)
            return false;
        for (var i = 0; i < a.Count; i++)
        {
            if (Array.IndexOf(b, a[i]) < 0)
                return false;
        }

        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "DEL id={Id}: a SET of this id is still in flight after twice the store timeout; the DEL fails")]
    private static partial void LogDeleteDidNotWait(ILogger logger, long id);
}

/// <summary>A repair of one id in flight (see <see cref="MessageIndex.HoldForRepair"/>).</summary>
internal readonly struct RepairHold(WritesInFlight writes, long id) : IDisposable
{
    public void Dispose() => writes.Exit(id);
}
