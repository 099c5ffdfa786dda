using Tolerex.Leader.Membership;
using Tolerex.Storage.Log;

namespace Tolerex.Leader.Consensus;

/// <summary>
/// One index record on its way into the consensus log. Once the entry that carries it is committed (on disk
/// on a majority of the leader group, this node included) the state machine applies it to memory, when
/// <see cref="ApplyOnCommit"/> is set (with <see cref="Replicas"/> as the put's members, when the caller has them
/// at hand), and completes <see cref="Done"/>.
/// </summary>
internal sealed class JournalAppend(LogRecord record, bool applyOnCommit, MemberNode[]? replicas)
{
    private readonly TaskCompletionSource<bool> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public LogRecord Record { get; } = record;
    public bool ApplyOnCommit { get; } = applyOnCommit;
    public MemberNode[]? Replicas { get; } = replicas;

    /// <summary>Completes once committed: true, or for an applied record whether it changed memory.</summary>
    public Task<bool> Done => _done.Task;

    /// <summary>The consensus log index of the entry that carried the record (set before <see cref="Done"/> completes).</summary>
    public long EntryIndex { get; private set; }

    internal void Committed(long entryIndex, bool result)
    {
        EntryIndex = entryIndex;
        _done.TrySetResult(result);
    }

    internal void Failed(Exception error) => _done.TrySetException(error);
}

/// <summary>The records of one consensus log entry, handed to the log as the entry's context so that the state
/// machine of this node can complete them when it applies the entry.</summary>
internal sealed class JournalBatch(JournalAppend[] appends)
{
    public JournalAppend[] Appends { get; } = appends;
}
