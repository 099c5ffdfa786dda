using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Tolerex.Protocol.Storage;

namespace Tolerex.Member.Storage;

/// <summary>
/// An append-only, checksummed, segmented message log with an in-memory index (Bitcask-style). One writer
/// task owns the active segment and commits queued records as a group; readers use positional reads and
/// never wait for the writer; compaction copies live records out of sealed segments in the background.
/// Split by concern: Append (writer, group commit), Recovery (start-up scan), Compaction.
/// </summary>
internal sealed partial class LogStore : IMessageStore
{
    public static readonly Meter Meter = new("Tolerex.Member.Storage");
    private static readonly Counter<long> CorruptRecordsCounter = Meter.CreateCounter<long>("tolerex.member.storage.corrupt_records", "{record}",
        "Damaged records skipped or truncated at recovery");
    private static readonly Histogram<double> SyncDuration = Meter.CreateHistogram("tolerex.member.storage.fsync.duration", "s",
        "Time of one fsync of the active segment (one per commit group)",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] });
    private static readonly Histogram<long> GroupSize = Meter.CreateHistogram("tolerex.member.storage.group.records", "{record}",
        "Records committed by one group commit (one write and one fsync)",
        advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] });
    private static readonly Counter<long> BytesWritten = Meter.CreateCounter<long>("tolerex.member.storage.written", "By",
        "Bytes appended to the log (records, including compaction copies)");

    /// <summary>Where a held value sits: segment, record offset, payload length, version. 24 bytes per id
    /// (plus the dictionary's per-entry overhead; see the README's memory figure).</summary>
    internal readonly record struct Entry(int Segment, long Offset, int Length, long Version);

    private readonly ConcurrentDictionary<long, Entry> _index = new();
    private readonly ConcurrentDictionary<int, Segment> _segments = new();
    private readonly LogStoreOptions _options;
    private readonly IStorageFileSystem _fs;
    private readonly ILogger<LogStore> _logger;
    private readonly Channel<PendingWrite> _queue = Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions { SingleReader = true });
    private Task _writer = Task.CompletedTask;
    private Segment _active = null!;
    private int _lastSegment;
    private long _totalBytes;
    private long _liveBytes;
    private long _payloadBytes;
    private long _maxVersion;
    private long _syncCount;
    private uint _seal;
    private long _corruptRecords;
    private int _disposed;
    private Exception? _writerFailure;

    private LogStore(string directory, LogStoreOptions options, ILogger<LogStore> logger)
    {
        Directory = directory;
        _options = options;
        _fs = options.FileSystem;
        _logger = logger;
    }

    public string Directory { get; }

    public StoreStats Stats => new(_index.Count, Interlocked.Read(ref _payloadBytes), Interlocked.Read(ref _maxVersion));

    /// <summary>Syncs so far; group commit makes this far smaller than the number of records.</summary>
    internal long SyncCount => Interlocked.Read(ref _syncCount);
    /// <summary>Damaged records found by recovery.</summary>
    internal long CorruptRecords => Interlocked.Read(ref _corruptRecords);
    internal long TotalBytes => Interlocked.Read(ref _totalBytes);
    internal long LiveBytes => Interlocked.Read(ref _liveBytes);
    internal int SegmentCount => _segments.Count;

    public static LogStore Open(string directory, IoMode mode, ILogger<LogStore> logger) =>
        Open(directory, new LogStoreOptions { Io = mode }, logger);

    /// <summary>Opens (creating if needed) the log in <paramref name="directory"/> and recovers its index.</summary>
    public static LogStore Open(string directory, LogStoreOptions options, ILogger<LogStore> logger)
    {
        var store = new LogStore(directory, options, logger);
        try
        {
            store.Recover();
        }
        catch
        {
            store.CloseFiles();
            throw;
        }

        store._writer = Task.Run(store.WriteLoopAsync);
        return store;
    }

    public ValueTask<long> StoreAsync(long id, long version, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
        Enqueue(new PendingWrite(RecordKind.Value, id, version, payload), cancellationToken);

    public async ValueTask<bool> DeleteAsync(long id, long version, CancellationToken cancellationToken) =>
        await Enqueue(new PendingWrite(RecordKind.Tombstone, id, version, ReadOnlyMemory<byte>.Empty), cancellationToken) != 0;

    private ValueTask<long> Enqueue(PendingWrite write, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!_queue.Writer.TryWrite(write))
        {
            throw Volatile.Read(ref _writerFailure) is { } failure
                ? new IOException($"{Directory}: the store's writer stopped", failure)
                : new ObjectDisposedException(nameof(LogStore));
        }

        return new ValueTask<long>(write.Completion.Task);
    }

    public async ValueTask<StoredMessage?> ReadAsync(long id, CancellationToken cancellationToken)
    {
        // Compaction may move a record and delete its old segment between the index lookup and the read;
        // then the index already points at the new place, so look again.
        for (var attempt = 0; ; attempt++)
        {
            if (!_index.TryGetValue(id, out var entry))
                return null;
            try
            {
                if (_segments.TryGetValue(entry.Segment, out var segment))
                    return new StoredMessage(entry.Version, await ReadPayloadAsync(segment, entry, cancellationToken));
            }
            catch (ObjectDisposedException) when (attempt < 3)
            {
            }

            if (attempt >= 3)
                throw new IOException($"{Directory}: id {id} points at segment {entry.Segment}, which is gone");
        }
    }

    private static async Task<byte[]> ReadPayloadAsync(Segment segment, Entry entry, CancellationToken cancellationToken)
    {
        var payload = new byte[entry.Length];
        var read = 0;
        while (read < payload.Length)
        {
            var n = await segment.File.ReadAsync(payload.AsMemory(read), entry.Offset + LogRecord.HeaderSize + read, cancellationToken);
            if (n == 0)
                throw new IOException($"{segment.Path}: unexpected end of file");
            read += n;
        }

        return payload;
    }

    /// <summary>Stops accepting writes, finishes the queued ones and any compaction, syncs (os mode) and closes.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _queue.Writer.TryComplete();
        try
        {
            await _writer.ConfigureAwait(false);
            await _compaction.ConfigureAwait(false);
            _active?.Space?.TrimOnClose(_active.File, _active.Length);
            // Fsync mode synced every group already; in os mode nothing was, so a clean shutdown makes the
            // acknowledged writes durable before the handles close.
            if (_options.Durability == Durability.Os)
            {
                foreach (var segment in _segments.Values)
                {
                    segment.File.Sync();
                    Interlocked.Increment(ref _syncCount);
                }
            }
        }
        finally
        {
            CloseFiles();
        }
    }

    private void CloseFiles()
    {
        foreach (var segment in _segments.Values)
            segment.File.Dispose();
    }

    /// <summary>Publishes a record to the index (writer and recovery only) and keeps the byte accounting.</summary>
    private void ApplyValue(long id, Entry entry)
    {
        if (_index.TryGetValue(id, out var old))
            Forget(old);
        _index[id] = entry;
        Interlocked.Add(ref _liveBytes, LogRecord.SizeOf(entry.Length));
        Interlocked.Add(ref _payloadBytes, entry.Length);
        if (entry.Version > Interlocked.Read(ref _maxVersion))
            Interlocked.Exchange(ref _maxVersion, entry.Version);
    }

    private bool ApplyTombstone(long id, long version)
    {
        if (version > Interlocked.Read(ref _maxVersion))
            Interlocked.Exchange(ref _maxVersion, version);
        if (!_index.TryRemove(id, out var old))
            return false;
        Forget(old);
        return true;
    }

    private void Forget(Entry old)
    {
        Interlocked.Add(ref _liveBytes, -LogRecord.SizeOf(old.Length));
        Interlocked.Add(ref _payloadBytes, -old.Length);
    }

    private string PathOf(int number) => Path.Combine(Directory, Segment.NameOf(number));

    private sealed class PendingWrite(RecordKind kind, long id, long version, ReadOnlyMemory<byte> payload)
    {
        public RecordKind Kind { get; } = kind;
        public long Id { get; } = id;
        public long Version { get; } = version;
        public ReadOnlyMemory<byte> Payload { get; } = payload;
        public TaskCompletionSource<long> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
