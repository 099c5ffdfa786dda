using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Membership;
using Tolerex.Storage.Files;
using Tolerex.Storage.Log;

namespace Tolerex.Leader.Index;

/// <summary>
/// Makes the leader's index and member registry durable: put, delete and member records in a
/// <see cref="RecordLog"/> (group commit: one write and one fsync for every record queued meanwhile), and
/// periodic checkpoints, a snapshot of memory that replaces the log before it. Recovery = checkpoint + log
/// tail. Records reach memory (<see cref="IndexMap"/>, <see cref="MemberRegistry"/>) only once durable, in
/// log order.
/// </summary>
internal sealed partial class IndexLog(IndexMap map, MemberRegistry registry, IOptions<LeaderOptions> options, ILogger<IndexLog> logger,
    IStorageFileSystem? fileSystem = null) : IAsyncDisposable
{
    public const string SegmentSuffix = ".index";
    public const string CheckpointName = "index.checkpoint";

    private readonly LeaderOptions _options = options.Value;
    private readonly IStorageFileSystem _fs = fileSystem ?? PhysicalFileSystem.Instance;
    private RecordLog _log = null!;
    /// <summary>One checkpoint at a time: they share a temporary file.</summary>
    private readonly SemaphoreSlim _checkpointing = new(1, 1);
    private Task _checkpoint = Task.CompletedTask;
    /// <summary>Bytes logged since the last checkpoint began; touched by the log's writer only.</summary>
    private long _sinceCheckpoint;

    public string Directory => _options.DataDir;
    /// <summary>The segment records are appended to now; it changes when a checkpoint begins.</summary>
    public int ActiveSegment => _log.ActiveSegment;
    internal long SyncCount => _log.SyncCount;
    internal long CorruptRecords => _log.CorruptRecords;
    internal int Checkpoints { get; private set; }

    /// <summary>Recovers the index and registry from disk, converting an index of the earlier format, then accepts records.</summary>
    public void Open()
    {
        _fs.CreateDirectory(Directory);
        var legacy = LegacyIndexFormat.IsPresent(_fs, Directory);
        // A finished conversion is marked by the current checkpoint: without one, a conversion was cut short.
        if (legacy && !_fs.Exists(Path.Combine(Directory, CheckpointName)))
        {
            foreach (var name in _fs.List(Directory, SegmentSuffix))
                _fs.Delete(Path.Combine(Directory, name));
            foreach (var record in LegacyIndexFormat.Read(_fs, Directory, damage => LogLegacyDamage(logger, damage)))
                Apply(record, null);
            _log = OpenLog();
            _log.WriteCheckpoint(_log.ActiveSegment, Snapshot());
            LogConverted(logger, Directory, map.Count, registry.All.Length);
        }
        else
        {
            _log = OpenLog();
        }

        if (legacy)
            LegacyIndexFormat.Delete(_fs, Directory);
        _sinceCheckpoint = _log.TotalBytes;
        LogRecovered(logger, Directory, map.Count, registry.All.Length, _log.CorruptRecords);
    }

    private RecordLog OpenLog() => RecordLog.Open(Directory, new RecordLogOptions
    {
        Format = IndexRecords.Format,
        SegmentSuffix = SegmentSuffix,
        CheckpointName = CheckpointName,
        Durability = _options.Durability,
        // A checkpoint starts a new segment; one segment holds what comes between checkpoints.
        SegmentBytes = Math.Max(_options.CheckpointBytes, 64L * 1024 * 1024),
        PreallocateBytes = _options.IndexPreallocateBytes,
        FileSystem = _fs,
    }, logger, (in LogRecord record, RecordPosition _) => Apply(record, null));

    /// <summary>
    /// Queues <paramref name="record"/>; once durable it is applied to memory when <paramref name="apply"/> is
    /// set (with <paramref name="replicas"/> as the put's members, when the caller has them at hand).
    /// </summary>
    public IndexAppend Append(LogRecord record, bool apply, MemberNode[]? replicas = null)
    {
        var append = new IndexAppend(this, record, apply, replicas);
        _log.Append(append);
        return append;
    }

    /// <summary>Writes a checkpoint now (tests, benchmarks): completes when it is durable.</summary>
    internal Task CheckpointNowAsync() => CheckpointAsync();

    public async ValueTask DisposeAsync()
    {
        if (_log is null)
            return;
        // Let a running checkpoint finish first: it needs the log's writer to start its segment.
        await _checkpointing.WaitAsync();
        _checkpointing.Release();
        await _log.DisposeAsync();
    }

    /// <summary>Writer only: a record is durable; counts it towards the next checkpoint and applies it if asked.</summary>
    private bool Durable(in LogRecord record, bool apply, MemberNode[]? replicas)
    {
        _sinceCheckpoint += RecordFrame.SizeOf(record.Payload.Length);
        if (_sinceCheckpoint >= _options.CheckpointBytes && _checkpoint.IsCompleted)
        {
            _sinceCheckpoint = 0;
            _checkpoint = Task.Run(CheckpointAsync);
        }

        return !apply || Apply(record, replicas);
    }

    /// <summary>Applies one durable record to memory (writer and recovery).</summary>
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
            case IndexRecords.Member when IndexRecords.TryReadMember(record.Payload.Span, out var identity, out var address):
                if (!registry.TryGet((int)record.Key, out var known))
                    registry.Restore((int)record.Key, address, identity);
                else if (identity.Length > 0)
                    known.TryBind(identity); // a member recorded before identities were, bound since
                return true;
            default:
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

    /// <summary>
    /// Starts a new segment, then writes a snapshot of memory that stands for every segment before it. Records
    /// are idempotent (a put applies only over a lower version, a delete only over a lower version), so a
    /// snapshot taken while changes continue is safe: everything from the new segment on is replayed on top.
    /// </summary>
    private async Task CheckpointAsync()
    {
        await _checkpointing.WaitAsync();
        try
        {
            var firstUncovered = await _log.RollAsync();
            _log.WriteCheckpoint(firstUncovered, Snapshot());
            Checkpoints++;
            LogCheckpointed(logger, Directory, map.Count, firstUncovered);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            // The segments stay until a checkpoint succeeds, so nothing is lost.
            LogCheckpointFailed(logger, Directory, e);
        }
        finally
        {
            _checkpointing.Release();
        }
    }

    private IEnumerable<LogRecord> Snapshot()
    {
        foreach (var m in registry.All)
        {
            yield return IndexRecords.MemberOf(m.Number, m.Address, m.Identity);
            if (m.Decommissioned)
                yield return IndexRecords.DecommissionedOf(m.Number);
        }
        foreach (var (id, entry) in map.Entries)
            yield return IndexRecords.PutOf(id, entry.Version, entry.Replicas);
    }

    /// <summary>One index record on its way to disk; <see cref="Segment"/> is where it went.</summary>
    internal sealed class IndexAppend(IndexLog log, LogRecord record, bool apply, MemberNode[]? replicas) : LogAppend(record)
    {
        private readonly TaskCompletionSource<bool> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes once durable: true, or for an applied record whether it changed memory.</summary>
        public Task<bool> Done => _done.Task;

        /// <summary>The segment the record was written to (set before <see cref="Done"/> completes).</summary>
        public int Segment { get; private set; }

        protected override void Completed(RecordPosition? position)
        {
            Segment = position.GetValueOrDefault().Segment;
            _done.TrySetResult(log.Durable(Record, apply, replicas));
        }

        protected override void Failed(Exception error) => _done.TrySetException(error);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Index recovered from {Directory}: {Ids} ids, {Members} members, {Corrupt} damaged records")]
    private static partial void LogRecovered(ILogger logger, string directory, int ids, int members, long corrupt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Index in {Directory} converted from the earlier format: {Ids} ids, {Members} members")]
    private static partial void LogConverted(ILogger logger, string directory, int ids, int members);

    [LoggerMessage(Level = LogLevel.Error, Message = "Index of the earlier format: {Damage}; skipped")]
    private static partial void LogLegacyDamage(ILogger logger, string damage);

    [LoggerMessage(Level = LogLevel.Information, Message = "Index checkpoint written in {Directory}: {Ids} ids; log continues in segment {Segment}")]
    private static partial void LogCheckpointed(ILogger logger, string directory, int ids, int segment);

    [LoggerMessage(Level = LogLevel.Error, Message = "Index checkpoint in {Directory} failed; the log is kept")]
    private static partial void LogCheckpointFailed(ILogger logger, string directory, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Index record names member #{Number}, which is not known; the record is ignored")]
    private static partial void LogUnknownMember(ILogger logger, int number);

    [LoggerMessage(Level = LogLevel.Error, Message = "Index record of unknown kind {Kind} (key {Key}) ignored")]
    private static partial void LogUnknownRecord(ILogger logger, byte kind, long key);
}
