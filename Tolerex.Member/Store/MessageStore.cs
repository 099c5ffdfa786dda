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

    /// <summary>Where a held value sits: segment, record offset, payload length, version (24 bytes per id).</summary>
    private readonly record struct Entry(int Segment, int Length, long Offset, long Version)
    {
        public RecordPosition Position => new(Segment, Offset);
    }

    private readonly ConcurrentDictionary<long, Entry> _index = new();
    /// <summary>Versions (and deletions) admitted by the writer but not yet durable; touched by the writer only.</summary>
    private readonly Dictionary<long, (long Version, bool Deleted)> _staged = [];
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
        // Versions of deletions seen so far, so an older value scanned later cannot come back.
        var tombstones = new Dictionary<long, long>();
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
        foreach (var (id, version) in tombstones)
        {
            if (store._index.TryGetValue(id, out var value) && value.Version < version)
                store.ApplyTombstone(id, version);
        }

        LogOpened(logger, directory, store._index.Count, store._log.CorruptRecords);
        return store;
    }

    /// <summary>
    /// Durably stores <paramref name="payload"/> as <paramref name="version"/> of <paramref name="id"/> unless a
    /// version at least as high is already held. Completes after the sync that covers the record and returns
    /// the version now held (higher than <paramref name="version"/> when the write was superseded).
    /// </summary>
    public Task<long> StoreAsync(long id, long version, ReadOnlyMemory<byte> payload) =>
        Enqueue(new LogRecord(ValueKind, id, version, payload));

    /// <summary>Durably deletes <paramref name="id"/> (a tombstone) if held with a lower version; true when something was deleted.</summary>
    public async Task<bool> DeleteAsync(long id, long version) =>
        await Enqueue(new LogRecord(TombstoneKind, id, version, ReadOnlyMemory<byte>.Empty)) != 0;

    private Task<long> Enqueue(LogRecord record)
    {
        var append = new CopyAppend(this, record);
        _log.Append(append);
        return append.Done.Task;
    }

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
        if (_staged.TryGetValue(record.Key, out var staged))
            held = staged.Deleted ? null : staged.Version;
        else if (_index.TryGetValue(record.Key, out var entry))
            held = entry.Version;

        if (record.Kind == ValueKind)
        {
            result = held ?? 0;
            if (held >= record.Version)
                return false;
        }
        else
        {
            // A delete of something not held, or older than what is held, writes nothing.
            result = 0;
            if (held is null || held >= record.Version)
                return false;
        }

        _staged[record.Key] = (record.Version, record.Kind == TombstoneKind);
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
        }
        else
        {
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

    private void Recovered(in LogRecord record, RecordPosition position, Dictionary<long, long> tombstones)
    {
        if (record.Kind == TombstoneKind)
        {
            if (!tombstones.TryGetValue(record.Key, out var seen) || record.Version > seen)
                tombstones[record.Key] = record.Version;
            RaiseMaxVersion(record.Version);
            return;
        }

        if (record.Kind != ValueKind || (tombstones.TryGetValue(record.Key, out var deletedAt) && deletedAt >= record.Version))
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
