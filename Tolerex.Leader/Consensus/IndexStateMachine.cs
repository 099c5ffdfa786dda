using System.Buffers;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Index;
using Tolerex.Leader.Membership;
using Tolerex.Storage.Files;
using Tolerex.Storage.Log;

namespace Tolerex.Leader.Consensus;

/// <summary>
/// The leader's index and member registry as the state machine of the consensus log: every committed entry
/// (a batch of <see cref="IndexRecords"/>) is applied to <see cref="IndexMap"/> and <see cref="MemberRegistry"/>
/// in log order, on every node of the leader group. The node that appended an entry applies each record as its
/// caller asked (a SET's put becomes visible only when the SET commits, see <see cref="MessageIndex"/>); any
/// other node, and a node replaying its log at start, applies every record. Records are idempotent (a put only
/// over a lower version, a delete only over a lower version), so a snapshot taken while entries keep being
/// applied is safe: what follows its index is applied on top.
/// </summary>
internal sealed partial class IndexStateMachine(IndexMap map, MemberRegistry registry, IOptions<LeaderOptions> options,
    ILogger<IndexStateMachine> logger, IStorageFileSystem? fileSystem = null) : IStateMachine
{
    private readonly LeaderOptions _options = options.Value;
    private readonly IStorageFileSystem _fs = fileSystem ?? PhysicalFileSystem.Instance;
    // Written by the log's applier only (one at a time); read by snapshots and status.
    private long _appliedIndex;
    private long _appliedTerm;
    private long _sinceSnapshot;

    /// <summary>Index of the last entry applied to memory.</summary>
    public long AppliedIndex => Volatile.Read(ref _appliedIndex);

    /// <summary>Records that could not be read (damaged snapshot or entry, unknown kind).</summary>
    public long CorruptRecords => Interlocked.Read(ref _corrupt);
    private long _corrupt;

    public ValueTask<long> ApplyAsync(LogEntry entry, CancellationToken token)
    {
        if (entry.Index <= _appliedIndex)
            return new(_appliedIndex);
        if (entry.IsSnapshot)
            return InstallAsync(entry, token);

        var payload = PayloadOf(entry);
        var appends = (entry.Context as JournalBatch)?.Appends;
        var i = 0;
        foreach (var record in JournalEntryFormat.Read(payload, bytes => Damaged(entry.Index, bytes)))
        {
            var append = appends is not null && i < appends.Length ? appends[i++] : null;
            var result = append is { ApplyOnCommit: false } || Apply(record, append?.Replicas);
            append?.Committed(entry.Index, result);
        }

        // An entry this node appended carries every record it was given; anything left was not readable.
        for (; appends is not null && i < appends.Length; i++)
            appends[i].Failed(new IOException($"index entry {entry.Index} was damaged before it was applied"));

        Volatile.Write(ref _appliedTerm, entry.Term);
        Volatile.Write(ref _appliedIndex, entry.Index);
        _sinceSnapshot += payload.Length;
        if (_sinceSnapshot >= _options.CheckpointBytes && BeginSnapshot())
            _sinceSnapshot = 0;
        return new(entry.Index);
    }

    private static ReadOnlyMemory<byte> PayloadOf(in LogEntry entry)
    {
        if (entry.TryGetPayload(out var sequence))
            return sequence.IsSingleSegment ? sequence.First : sequence.ToArray();
        var joined = new List<byte>();
        foreach (var part in entry.GetPayload())
            joined.AddRange(part.Span);
        return joined.ToArray();
    }

    /// <summary>Applies one committed record to memory (the log's applier, snapshot loading).</summary>
    private bool Apply(in LogRecord record, MemberNode[]? replicas)
    {
        switch (record.Kind)
        {
            case IndexRecords.Put:
                replicas ??= ResolveMembers(IndexRecords.MemberNumbersOf(record.Payload.Span));
                return replicas is not null && map.Put(record.Key, new IndexEntry(record.Version, map.Intern(replicas)));
            case IndexRecords.Replicas:
                replicas ??= ResolveMembers(IndexRecords.MemberNumbersOf(record.Payload.Span));
                return replicas is not null && map.ReplaceReplicas(record.Key, record.Version, map.Intern(replicas));
            case IndexRecords.Decommissioned:
                if (registry.TryGet((int)record.Key, out var leaving))
                    registry.Decommissioned(leaving);
                return true;
            case IndexRecords.Delete:
                return map.Remove(record.Key, record.Version);
            case IndexRecords.Floor:
                map.RaiseVersionFloor(record.Version);
                return true;
            case IndexRecords.Member when IndexRecords.TryReadMember(record.Payload.Span, out var identity, out var address):
                if (!registry.TryGet((int)record.Key, out var known))
                    registry.Restore((int)record.Key, address, identity);
                else if (identity.Length > 0)
                    known.TryBind(identity); // a member recorded before identities were, bound since
                return true;
            default:
                Interlocked.Increment(ref _corrupt);
                LogUnknownRecord(logger, record.Kind, record.Key);
                return false;
        }
    }

    private MemberNode[]? ResolveMembers(int[] numbers)
    {
        var members = new MemberNode[numbers.Length];
        for (var i = 0; i < numbers.Length; i++)
        {
            if (!registry.TryGet(numbers[i], out members[i]))
            {
                LogUnknownMember(logger, numbers[i]);
                return null;
            }
        }

        return members;
    }

    private void Damaged(long entryIndex, int bytes)
    {
        Interlocked.Increment(ref _corrupt);
        LogDamagedEntry(logger, entryIndex, bytes);
    }

    private void DamagedSnapshot(string path, int bytes)
    {
        Interlocked.Increment(ref _corrupt);
        LogDamagedSnapshot(logger, path, bytes);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Index snapshot {Path}: {Bytes} damaged bytes skipped (the records in them are lost from this node's index)")]
    private static partial void LogDamagedSnapshot(ILogger logger, string path, int bytes);

    [LoggerMessage(Level = LogLevel.Error, Message = "Index entry {Index}: {Bytes} bytes could not be read; the rest of the entry is skipped")]
    private static partial void LogDamagedEntry(ILogger logger, long index, int bytes);

    [LoggerMessage(Level = LogLevel.Error, Message = "Index record names member #{Number}, which is not known; the record is ignored")]
    private static partial void LogUnknownMember(ILogger logger, int number);

    [LoggerMessage(Level = LogLevel.Error, Message = "Index record of unknown kind {Kind} (key {Key}) ignored")]
    private static partial void LogUnknownRecord(ILogger logger, byte kind, long key);
}
