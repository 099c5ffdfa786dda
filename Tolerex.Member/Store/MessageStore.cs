using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Tolerex.Storage.Files;
using Tolerex.Storage.Log;

namespace Tolerex.Member.Store;

internal readonly record struct StoreStats(long MessagesHeld, long BytesHeld, long MaxVersion);

internal readonly record struct StoredMessage(long Version, byte[] Payload);

/// <summary>
/// A member's durable copies: value and tombstone records in a <see cref="RecordLog"/>, and an in-memory index
/// from id to where its newest value lives (Bitcask-style). The log's writer decides, in order, whether a
/// write supersedes what is held, so concurrent writes of one id never roll it back; readers use positional
/// reads and never wait for the writer; compaction copies live records out of sealed segments.
/// </summary>
internal sealed partial class MessageStore : IAsyncDisposable
{
    public static readonly Meter Meter = new("Tolerex.Member.Storage");
    private static readonly RecordLogMetrics LogMetrics = new(Meter, "tolerex.member.storage");

    /// <summary>Records are "TX"; format 2 (before records were sealed) is still read.</summary>
    internal static readonly RecordFormat Format = new((byte)'T', (byte)'X', UnsealedVersion: 2);
    internal const string SegmentSuffix = ".seg";
    private const byte ValueKind = 1;
    private const byte TombstoneKind = 2;
    /// <summary>Removes one copy the leader no longer names here; unlike a tombstone it leaves no barrier: the same
    /// version may be stored again later (recovery applies it only to values before it in the log).</summary>
    private const byte ReclaimKind = 3;

    /// <summary>Where a held value sits: segment, record offset, payload length, version (24 bytes per id).</summary>
    private readonly record struct Entry(int Segment, int Length, long Offset, long Version)
    {
        public RecordPosition Position => new(Segment, Offset);
    }

    private readonly ConcurrentDictionary<long, Entry> _index = new();
    /// <summary>
    /// Ids not held whose tombstone is still on disk, with its version and segment: a value at that version or
    /// lower must be refused, or it would be held now and dropped again by recovery. Compaction removes
    /// tombstones from disk, and then their entries here.
    /// </summary>
    private readonly ConcurrentDictionary<long, (long Version, int Segment)> _deleted = new();
    /// <summary>Versions (and deletions) admitted by the writer but not yet durable; touched by the writer only.</summary>
    private readonly Dictionary<long, (long Version, byte Kind)> _staged = [];
    private readonly MessageStoreOptions _options;
    private readonly ILogger _logger;
    private RecordLog _log = null!;
    private long _liveBytes;
    private long _payloadBytes;
    private long _maxVersion;

    private MessageStore(MessageStoreOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
    }

    public StoreStats Stats => new(_index.Count, Interlocked.Read(ref _payloadBytes), Interlocked.Read(ref _maxVersion));

    public string Directory => _log.Directory;
    internal RecordLog Log => _log;
    /// <summary>Bytes of records the index still points at.</summary>
    internal long LiveBytes => Interlocked.Read(ref _liveBytes);

    /// <summary>Opens (creating if needed) the store in <paramref name="directory"/> and rebuilds its index.</summary>
    public static MessageStore Open(string directory, MessageStoreOptions options, ILogger logger, IStorageFileSystem? fileSystem = null)
    {
        var store = new MessageStore(options, logger);
        // Deletions seen so far (version, segment), so an older value scanned later cannot come back.
        var tombstones = new Dictionary<long, (long Version, int Segment)>();
        store._log = RecordLog.Open(directory, new RecordLogOptions
        {
            Format = Format,
            SegmentSuffix = SegmentSuffix,
            Io = options.Io,
            Durability = options.Durability,
            SegmentBytes = options.SegmentBytes,
            PreallocateBytes = options.PreallocateBytes,
            FileSystem = fileSystem ?? PhysicalFileSystem.Instance,
            Metrics = LogMetrics,
        }, logger, (in LogRecord record, RecordPosition position) => store.Recovered(record, position, tombstones));
        foreach (var (id, deletion) in tombstones)
        {
            if (store._index.TryGetValue(id, out var value) && value.Version > deletion.Version)
                continue;
            store.ApplyTombstone(id, deletion.Version);
            store._deleted[id] = deletion;
        }

        LogOpened(logger, directory, store._index.Count, store._log.CorruptRecords);
        return store;
    }

    /// <summary>
    /// Durably stores <paramref name="payload"/> as <paramref name="version"/> of <paramref name="id"/> unless a
    /// version at least as high is already held. Completes after the sync that covers the record and returns
    /// the version now held (higher than <paramref name="version"/> when the write was superseded), or 0 when a
    /// deletion at that version or later is recorded (nothing is stored).
    /// </summary>
    public Task<long> StoreAsync(long id, long version, ReadOnlyMemory<byte> payload) =>
        Enqueue(new LogRecord(ValueKind, id, version, payload));

    /// <summary>
    /// Durably deletes <paramref name="id"/> (a tombstone) if held at <paramref name="version"/> or lower; true when
    /// something was deleted. The tombstone is a barrier: no copy at its version or lower is accepted while it is on disk.
    /// </summary>
    public async Task<bool> DeleteAsync(long id, long version) =>
        await Enqueue(new LogRecord(TombstoneKind, id, version, ReadOnlyMemory<byte>.Empty)) != 0;

    /// <summary>
    /// Durably removes the copy of <paramref name="id"/> if held at <paramref name="version"/> or lower (the leader
    /// no longer names this member for it); true when something was removed. No barrier: the same version may be
    /// stored here again later.
    /// </summary>
    public async Task<bool> ReclaimAsync(long id, long version) =>
        await Enqueue(new LogRecord(ReclaimKind, id, version, ReadOnlyMemory<byte>.Empty)) != 0;

    private Task<long> Enqueue(LogRecord record)
    {
        var append = new CopyAppend(this, record);
        _log.Append(append);
        return append.Done.Task;
    }

    /// <summary>Every id held and the version held, at this moment (writes go on meanwhile).</summary>
    public IEnumerable<(long Id, long Version)> Held() => _index.Select(e => (e.Key, e.Value.Version));

    /// <summary>The copy held for <paramref name="id"/>, or null.</summary>
    public async Task<StoredMessage?> ReadAsync(long id, CancellationToken cancellationToken)
    {
        // Compaction may move a record and delete its old segment between the index lookup and the read;
        // then the index already points at the new place, so look again.
        for (var attempt = 0; attempt < 4; attempt++)
        {
            if (!_index.TryGetValue(id, out var entry))
                return null;
            if (await _log.ReadPayloadAsync(entry.Position, entry.Length, cancellationToken) is { } payload)
                return new StoredMessage(entry.Version, payload);
        }

        throw new IOException($"{Directory}: id {id} kept moving while being read");
    }

    /// <summary>Stops accepting writes, finishes the queued ones and any compaction, and closes.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopCompactingAsync();
        await _log.DisposeAsync();
    }

    /// <summary>Writer only: null when the record must be written; otherwise the result to give without writing.</summary>
    private bool Admit(in LogRecord record, out long result)
    {
        long? held = null;
        long deletedAt = 0;
        if (_staged.TryGetValue(record.Key, out var staged))
        {
            if (staged.Kind == ValueKind)
                held = staged.Version;
            else if (staged.Kind == TombstoneKind)
                deletedAt = staged.Version;
        }
        else if (_index.TryGetValue(record.Key, out var entry))
        {
            held = entry.Version;
        }
        else if (_deleted.TryGetValue(record.Key, out var deletion))
        {
            deletedAt = deletion.Version;
        }

        if (record.Kind == ValueKind)
        {
            result = held ?? 0;
            // Held as new or newer; or deleted at this version or later, which recovery would apply over it.
            if (held >= record.Version || (held is null && deletedAt >= record.Version))
                return false;
        }
        else
        {
            // A delete or reclaim of something not held, or older than what is held, writes nothing.
            result = 0;
            if (held is null || held > record.Version)
                return false;
        }

        _staged[record.Key] = (record.Version, record.Kind);
        return true;
    }

    /// <summary>Writer only: a record is durable (or was not admitted); publishes it and returns the caller's result.</summary>
    private long Publish(in LogRecord record, RecordPosition? position, long skippedResult)
    {
        if (position is not { } at)
            return skippedResult;
        Unstage(record);
        long result;
        if (record.Kind == TombstoneKind)
        {
            result = ApplyTombstone(record.Key, record.Version) ? 1 : 0;
            _deleted[record.Key] = (record.Version, at.Segment);
        }
        else if (record.Kind == ReclaimKind)
        {
            result = ApplyTombstone(record.Key, record.Version) ? 1 : 0;
        }
        else
        {
            _deleted.TryRemove(record.Key, out _);
            ApplyValue(record.Key, new Entry(at.Segment, record.Payload.Length, at.Offset, record.Version));
            result = record.Version;
        }

        CompactIfDue();
        return result;
    }

    private void Unstage(in LogRecord record)
    {
        if (_staged.TryGetValue(record.Key, out var staged) && staged.Version == record.Version)
            _staged.Remove(record.Key);
    }

    private void Recovered(in LogRecord record, RecordPosition position, Dictionary<long, (long Version, int Segment)> tombstones)
    {
        if (record.Kind == ReclaimKind)
        {
            // Only what came before it in the log: a copy stored again after the reclaim stays.
            if (_index.TryGetValue(record.Key, out var reclaimed) && reclaimed.Version <= record.Version)
                ApplyTombstone(record.Key, record.Version);
            return;
        }

        if (record.Kind == TombstoneKind)
        {
            if (!tombstones.TryGetValue(record.Key, out var seen) || record.Version > seen.Version)
                tombstones[record.Key] = (record.Version, position.Segment);
            RaiseMaxVersion(record.Version);
            return;
        }

        if (record.Kind != ValueKind || (tombstones.TryGetValue(record.Key, out var deletion) && deletion.Version >= record.Version))
            return;
        if (!_index.TryGetValue(record.Key, out var held) || record.Version > held.Version)
            ApplyValue(record.Key, new Entry(position.Segment, record.Payload.Length, position.Offset, record.Version));
    }

    /// <summary>Publishes a value to the index (writer and recovery only) and keeps the byte accounting.</summary>
    private void ApplyValue(long id, Entry entry)
    {
        if (_index.TryGetValue(id, out var old))
            Forget(old);
        _index[id] = entry;
        Interlocked.Add(ref _liveBytes, RecordFrame.SizeOf(entry.Length));
        Interlocked.Add(ref _payloadBytes, entry.Length);
        RaiseMaxVersion(entry.Version);
    }

    private bool ApplyTombstone(long id, long version)
    {
        RaiseMaxVersion(version);
        if (!_index.TryRemove(id, out var old))
            return false;
        Forget(old);
        return true;
    }

    private void Forget(Entry old)
    {
        Interlocked.Add(ref _liveBytes, -RecordFrame.SizeOf(old.Length));
        Interlocked.Add(ref _payloadBytes, -old.Length);
    }

    private void RaiseMaxVersion(long version)
    {
        if (version > Interlocked.Read(ref _maxVersion))
            Interlocked.Exchange(ref _maxVersion, version);
    }

    /// <summary>One store or delete on its way through the log.</summary>
    private sealed class CopyAppend(MessageStore store, LogRecord record) : LogAppend(record)
    {
        private long _skippedResult;

        public TaskCompletionSource<long> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override bool Admit() => store.Admit(Record, out _skippedResult);

        protected override void Completed(RecordPosition? position) => Done.TrySetResult(store.Publish(Record, position, _skippedResult));

        protected override void Failed(Exception error)
        {
            store.Unstage(Record);
            Done.TrySetException(error);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Directory}: {Ids} ids held, {Corrupt} damaged records found")]
    private static partial void LogOpened(ILogger logger, string directory, int ids, long corrupt);
}
