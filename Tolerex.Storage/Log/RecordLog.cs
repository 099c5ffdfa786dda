using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Tolerex.Storage.Files;

namespace Tolerex.Storage.Log;

/// <summary>
/// The one durable log engine: append-only, checksummed, sealed records in numbered segment files, written
/// by a single writer that commits every queued record as a group (one write, one sync). Recovery replays an
/// optional checkpoint and then every segment it does not cover, skipping damage. Layers above decide what
/// their records mean: the member keeps copies in it (and compacts it), the leader its index (and
/// checkpoints it). Split by concern: Writer (group commit), Recovery, Segments (roll, compaction outputs,
/// deletion, checkpoints).
/// </summary>
public sealed partial class RecordLog : IAsyncDisposable
{
    /// <summary>Kind of the first record of a checkpoint file; layers use kinds 1-255.</summary>
    internal const byte CheckpointHeaderKind = 0;

    private readonly ConcurrentDictionary<int, LogSegment> _segments = new();
    private readonly RecordLogOptions _options;
    private readonly IStorageFileSystem _fs;
    private readonly ILogger _logger;
    private readonly Channel<LogAppend> _queue = Channel.CreateUnbounded<LogAppend>(new UnboundedChannelOptions { SingleReader = true });
    private Task _writer = Task.CompletedTask;
    private LogSegment _active = null!;
    private int _lastSegment;
    private long _totalBytes;
    private long _syncCount;
    private long _corruptRecords;
    private uint _seal;
    private int _disposed;
    private Exception? _writerFailure;
    private IDisposable? _directoryLock;
    private long _failedGroups;
    private long _lastFailureLogged;

    private RecordLog(string directory, RecordLogOptions options, ILogger logger)
    {
        Directory = directory;
        _options = options;
        _fs = options.FileSystem;
        _logger = logger;
    }

    /// <summary>Receives every intact record at recovery, in log order: checkpoint records first (segment 0).</summary>
    public delegate void RecordVisitor(in LogRecord record, RecordPosition position);

    public string Directory { get; }

    /// <summary>Syncs so far; group commit makes this far smaller than the number of records.</summary>
    public long SyncCount => Interlocked.Read(ref _syncCount);
    /// <summary>Damaged records found by recovery.</summary>
    public long CorruptRecords => Interlocked.Read(ref _corruptRecords);
    /// <summary>Bytes of records in every segment.</summary>
    public long TotalBytes => Interlocked.Read(ref _totalBytes);
    public int SegmentCount => _segments.Count;
    /// <summary>The segment appends go to; every other segment is sealed.</summary>
    public int ActiveSegment => Volatile.Read(ref _active).Number;

    /// <summary>Opens (creating if needed) the log in <paramref name="directory"/>, handing every record to <paramref name="visit"/>.</summary>
    public static RecordLog Open(string directory, RecordLogOptions options, ILogger logger, RecordVisitor visit)
    {
        var log = new RecordLog(directory, options, logger);
        try
        {
            log.Recover(visit);
        }
        catch
        {
            log.CloseFiles();
            throw;
        }

        log._writer = Task.Run(log.WriteLoopAsync);
        return log;
    }

    /// <summary>Queues <paramref name="append"/>; its callbacks run on the writer once its fate is known.</summary>
    public void Append(LogAppend append)
    {
        if (!_queue.Writer.TryWrite(append))
        {
            throw Volatile.Read(ref _writerFailure) is { } failure
                ? new IOException($"{Directory}: the log's writer stopped", failure)
                : new ObjectDisposedException(nameof(RecordLog));
        }
    }

    /// <summary>
    /// Reads the payload of the record at <paramref name="position"/>; null when its segment is gone (a
    /// compaction moved the record meanwhile: look it up again). Throws <see cref="InvalidDataException"/> when the
    /// record is damaged.
    /// </summary>
    public async ValueTask<byte[]?> ReadPayloadAsync(RecordPosition position, int length, CancellationToken cancellationToken)
    {
        if (!_segments.TryGetValue(position.Segment, out var segment))
            return null;
        // The whole record, so its checksum is checked on every read: a bit flipped on disk since it was written
        // fails the read (a member answers that read with an error, and the leader asks another replica) instead
        // of serving damaged bytes.
        var frame = new byte[RecordFrame.SizeOf(length)];
        try
        {
            for (var read = 0; read < frame.Length;)
            {
                var n = await segment.File.ReadAsync(frame.AsMemory(read), position.Offset + read, cancellationToken).ConfigureAwait(false);
                if (n == 0)
                    throw new IOException($"{segment.Path}: unexpected end of file at offset {position.Offset}");
                read += n;
            }
        }
        catch (ObjectDisposedException)
        {
            return null;
        }

        if (!RecordFrame.TryRead(frame, _options.Format, _seal, out var record) || record.Payload.Length != length)
            throw new InvalidDataException($"{segment.Path}: the record at offset {position.Offset} is damaged (checksum mismatch)");
        return record.Payload.ToArray();
    }

    /// <summary>Stops accepting records, finishes the queued ones, syncs (os mode) and closes.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _queue.Writer.TryComplete();
        try
        {
            await _writer.ConfigureAwait(false);
            _active?.Space?.TrimOnClose(_active.File, _active.Length);
            // Fsync mode synced every group already; in os mode nothing was, so a clean shutdown makes the
            // acknowledged records durable before the handles close.
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
        try
        {
            foreach (var segment in _segments.Values)
                segment.File.Dispose();
        }
        finally
        {
            _directoryLock?.Dispose();
        }
    }

    private string PathOf(int number) => Path.Combine(Directory, LogSegment.NameOf(number, _options.SegmentSuffix));
}
