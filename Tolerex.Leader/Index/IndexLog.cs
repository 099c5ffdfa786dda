using System.Buffers;
using System.Threading.Channels;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Membership;
using Tolerex.Protocol.Storage;

namespace Tolerex.Leader.Index;

/// <summary>
/// Makes the leader's index and member registry durable: an append-only log of puts, deletes and members
/// with group commit (one write and one fsync for every change queued meanwhile), plus periodic
/// checkpoints written temp → fsync → rename → fsync(dir). Recovery = checkpoint + log tail. Changes reach
/// the in-memory <see cref="MessageIndex"/> only after they are durable, in log order, so a SET is
/// acknowledged only once its index record would survive a crash. Split by concern: Recovery, Checkpoint.
/// </summary>
internal sealed partial class IndexLog : IAsyncDisposable
{
    public const string LogSuffix = ".idx";
    public const string CheckpointName = "checkpoint";

    private readonly Channel<Change> _queue = Channel.CreateUnbounded<Change>(new UnboundedChannelOptions { SingleReader = true });
    private readonly MessageIndex _index;
    private readonly MemberRegistry _registry;
    private readonly LeaderOptions _options;
    private readonly IStorageFileSystem _fs;
    private readonly ILogger<IndexLog> _logger;
    private Task _writer = Task.CompletedTask;
    private IStorageFile _log = null!;
    private int _logNumber;
    private long _logLength;
    /// <summary>Zeroed space kept ahead of the log's end, so each group's sync overwrites allocated blocks.</summary>
    private Preallocation? _space;
    private long _sinceCheckpoint;
    private long _syncCount;

    public IndexLog(MessageIndex index, MemberRegistry registry, LeaderOptions options, ILogger<IndexLog> logger, IStorageFileSystem? fileSystem = null)
    {
        _index = index;
        _registry = registry;
        _options = options;
        _fs = fileSystem ?? PhysicalFileSystem.Instance;
        _logger = logger;
    }

    public string Directory => _options.DataDir;
    internal long SyncCount => Interlocked.Read(ref _syncCount);
    internal long CorruptRecords { get; private set; }
    internal int Checkpoints { get; private set; }

    /// <summary>Recovers the index and registry from disk, then starts accepting changes.</summary>
    public void Open()
    {
        Recover();
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>Durably records an acknowledged write, then applies it; false when a newer version was already indexed.</summary>
    public Task<bool> PutAsync(long id, long version, Member[] replicas) =>
        Enqueue(new Change(PutRecord(id, version, replicas), replicas));

    /// <summary>
    /// Durably records a write whose copies are still being stored, without applying it: the SET applies it
    /// with <see cref="PublishAsync"/> once its copies are acknowledged. Returns the log segment it went to. A
    /// record whose copies never got stored (a failed SET, or a crash mid-SET) is applied by recovery like any
    /// other; reads then fall back (see ReplicationCoordinator.GetAsync).
    /// </summary>
    public async Task<int> RecordAsync(long id, long version, Member[] replicas)
    {
        var change = new Change(PutRecord(id, version, replicas), replicas, Apply: false);
        await Enqueue(change).ConfigureAwait(false);
        return change.Segment;
    }

    /// <summary>
    /// Applies a write recorded by <see cref="RecordAsync"/> in <paramref name="segment"/>; false when a newer
    /// version was already indexed. A checkpoint snapshots memory and then drops the segments it covers, so a
    /// record written before a checkpoint began but applied after it may be in neither: it is then written
    /// again, durably, before this completes (rare: once per checkpoint at most per SET in flight).
    /// </summary>
    public async Task<bool> PublishAsync(long id, long version, Member[] replicas, int segment)
    {
        var applied = _index.Put(id, new IndexEntry(version, _index.Intern(replicas)));
        // Read after the put: a checkpoint starting later snapshots memory after it, so it holds this entry.
        if (Volatile.Read(ref _logNumber) != segment)
            await PutAsync(id, version, replicas).ConfigureAwait(false);
        return applied;
    }

    /// <summary>Durably records a delete, then applies it; false when the id was absent or rewritten by a newer version.</summary>
    public Task<bool> DeleteAsync(long id, long version) =>
        Enqueue(new Change(new IndexRecord(IndexRecordKind.Delete, id, version), null));

    /// <summary>Durably records a newly registered member, so index records may name it.</summary>
    public Task<bool> AddMemberAsync(Member member) =>
        Enqueue(new Change(new IndexRecord(IndexRecordKind.Member, Number: member.Number, Address: member.Address, Identity: member.Identity), null));

    private Task<bool> Enqueue(Change change)
    {
        if (!_queue.Writer.TryWrite(change))
            throw new ObjectDisposedException(nameof(IndexLog));
        return change.Done.Task;
    }

    private async Task WriteLoopAsync()
    {
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        var group = new List<Change>();
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            group.Clear();
            buffer.ResetWrittenCount();
            Change? checkpointNow = null;
            while (buffer.WrittenCount < 1024 * 1024 && _queue.Reader.TryRead(out var change))
            {
                // A checkpoint record is never appended to the log: queued, it asks for a checkpoint now.
                if (change.Record.Kind == IndexRecordKind.Checkpoint)
                {
                    checkpointNow = change;
                    break;
                }

                group.Add(change);
                change.Record.WriteTo(buffer);
            }

            try
            {
                _space?.Ensure(_log, _logLength + buffer.WrittenCount, _options.CheckpointBytes);
                _log.Write(buffer.WrittenSpan, _logLength);
                if (_options.Durability == Durability.Fsync && buffer.WrittenCount > 0)
                {
                    _log.Sync();
                    Interlocked.Increment(ref _syncCount);
                }

                _logLength += buffer.WrittenCount;
                _sinceCheckpoint += buffer.WrittenCount;
            }
            catch (Exception e)
            {
                LogWriteFailed(_logger, Directory, e);
                foreach (var change in group)
                    change.Done.TrySetException(e);
                checkpointNow?.Done.TrySetException(e);
                continue;
            }

            foreach (var change in group)
            {
                change.Segment = _logNumber;
                change.Done.TrySetResult(!change.Apply || Apply(change.Record, change.Replicas));
            }

            if (checkpointNow is not null || _sinceCheckpoint >= _options.CheckpointBytes)
                StartCheckpoint();
            checkpointNow?.Done.TrySetResult(true);
        }
    }

    /// <summary>Applies one durable record to memory (writer and recovery).</summary>
    private bool Apply(IndexRecord record, Member[]? replicas)
    {
        switch (record.Kind)
        {
            case IndexRecordKind.Put:
                replicas ??= ResolveMembers(record.Members!);
                return replicas is not null && _index.Put(record.Id, new IndexEntry(record.Version, _index.Intern(replicas)));
            case IndexRecordKind.Delete:
                return _index.Remove(record.Id, record.Version);
            case IndexRecordKind.Member:
                if (!_registry.TryGet(record.Number, out var known))
                    _registry.Restore(record.Number, record.Address!, record.Identity ?? "");
                else if (!string.IsNullOrEmpty(record.Identity))
                    known.TryBind(record.Identity); // a member from an older index, bound since
                return true;
            default:
                return true;
        }
    }

    private Member[]? ResolveMembers(int[] numbers)
    {
        var members = new Member[numbers.Length];
        for (var i = 0; i < numbers.Length; i++)
        {
            if (!_registry.TryGet(numbers[i], out members[i]))
            {
                LogUnknownMember(_logger, numbers[i]);
                return null;
            }
        }

        return members;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        await _checkpoint.ConfigureAwait(false);
        if (_log is not null)
        {
            _space?.TrimOnClose(_log, _logLength);
            _log.Dispose();
        }
    }

    /// <summary>id → (version, replicas) as stored: replicas by member number.</summary>
    private static IndexRecord PutRecord(long id, long version, Member[] replicas) =>
        new(IndexRecordKind.Put, id, version, Array.ConvertAll(replicas, m => m.Number));

    private Preallocation? NewSpace(long allocated) => Preallocation.For(_options.IndexPreallocateBytes, _options.Durability, allocated);

    private string LogPath(int number) => Path.Combine(Directory, number.ToString("D10", System.Globalization.CultureInfo.InvariantCulture) + LogSuffix);

    private sealed record Change(IndexRecord Record, Member[]? Replicas, bool Apply = true)
    {
        /// <summary>The log segment the record was written to (set before <see cref="Done"/> completes).</summary>
        public int Segment { get; set; }

        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Index log append in {Directory} failed; the changes in this group are refused")]
    private static partial void LogWriteFailed(ILogger logger, string directory, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Index record names member #{Number}, which is not known; the record is ignored")]
    private static partial void LogUnknownMember(ILogger logger, int number);
}
