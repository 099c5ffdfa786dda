using System.Buffers;
using Tolerex.Protocol.Storage;

namespace Tolerex.Member.Storage;

internal sealed partial class LogStore
{
    private const string CompactingSuffix = ".compacting";
    private Task _compaction = Task.CompletedTask;

    /// <summary>Compactions completed (for tests and metrics).</summary>
    internal int Compactions { get; private set; }

    /// <summary>
    /// Called by the writer after each group, so choosing the sources cannot race an append. When enough of
    /// the log is dead (or <paramref name="force"/>), the active segment is sealed (so its dead records count
    /// too) and every sealed segment is compacted in the background; writes go on into the new active segment.
    /// </summary>
    private void StartCompaction(bool force)
    {
        if (!_compaction.IsCompleted)
            return;
        var total = TotalBytes;
        var dead = total - LiveBytes;
        if (!force && (dead < _options.CompactionMinBytes || dead < total * _options.CompactionThreshold))
            return;

        if (_active.Length > 0)
            Roll();
        var sources = _segments.Values.Where(s => s.Number != _active.Number).OrderBy(s => s.Number).ToList();
        _compaction = Task.Run(() => CompactGuarded(sources));
    }

    /// <summary>Seals the active segment and compacts every other segment now; completes when done.</summary>
    internal async Task CompactNowAsync()
    {
        await _compaction;
        await Enqueue(new PendingWrite(RecordKind.Control, 0, 0, ReadOnlyMemory<byte>.Empty), CancellationToken.None);
        await _compaction;
    }

    private void CompactGuarded(List<Segment> sources)
    {
        try
        {
            Compact(sources);
        }
        catch (Exception e)
        {
            // Nothing is lost: sources are deleted only after their live records are durable elsewhere.
            // A failed compaction never takes the store down; the next trigger tries again.
            LogCompactionFailed(_logger, Directory, e);
        }
    }

    /// <summary>
    /// Copies the live records of <paramref name="sources"/> into new segments (temp file → sync → rename →
    /// sync directory), points the index at the copies unless a newer write moved the id meanwhile, then
    /// deletes the sources.
    /// </summary>
    private void Compact(List<Segment> sources)
    {
        if (sources.Count == 0)
            return;
        var before = sources.Sum(s => s.Length);
        var moves = new List<(long Id, Entry From, Entry To)>();
        var outputs = new List<Segment>();
        Segment? output = null;
        var buffer = new ArrayBufferWriter<byte>(1024 * 1024);

        foreach (var source in sources)
        {
            var span = source.File.ReadAll(source.Path).AsSpan();
            for (var pos = 0; pos < span.Length;)
            {
                if (!LogRecord.TryRead(span[pos..], _seal, out var kind, out var id, out var version, out var payloadLength))
                {
                    // Damage recovery already reported; find the next record.
                    pos = LogRecord.FindNext(span, _seal, pos + 1) is var next and >= 0 ? next : span.Length;
                    continue;
                }

                var size = LogRecord.SizeOf(payloadLength);
                var from = new Entry(source.Number, pos, payloadLength, version);
                if (kind == RecordKind.Value && _index.TryGetValue(id, out var current) && current == from)
                {
                    if (output is null || output.Length + buffer.WrittenCount + size > _options.SegmentBytes && output.Length + buffer.WrittenCount > 0)
                    {
                        if (output is not null)
                            Seal(output, buffer);
                        output = StartOutput();
                        outputs.Add(output);
                    }

                    moves.Add((id, from, new Entry(output.Number, output.Length + buffer.WrittenCount, payloadLength, version)));
                    span.Slice(pos, size).CopyTo(buffer.GetSpan(size));
                    buffer.Advance(size);
                    if (buffer.WrittenCount >= 1024 * 1024)
                    {
                        output.File.Write(buffer.WrittenSpan, output.Length);
                        output.Length += buffer.WrittenCount;
                        buffer.ResetWrittenCount();
                    }
                }

                pos += size;
            }
        }

        if (output is not null)
            Seal(output, buffer);

        // The copies are durable; make them visible to readers, then move the index over.
        foreach (var o in outputs)
        {
            _segments[o.Number] = o;
            Interlocked.Add(ref _totalBytes, o.Length);
        }

        foreach (var (id, from, to) in moves)
            _index.TryUpdate(id, to, from);

        foreach (var source in sources)
        {
            _segments.TryRemove(source.Number, out _);
            Interlocked.Add(ref _totalBytes, -source.Length);
            source.File.Dispose();
            _fs.Delete(source.Path);
        }

        _fs.SyncDirectory(Directory);
        Compactions++;
        LogCompacted(_logger, Directory, sources.Count, before, outputs.Count, outputs.Sum(o => o.Length), moves.Count);
    }

    private Segment StartOutput()
    {
        var number = Interlocked.Increment(ref _lastSegment);
        var temp = PathOf(number) + CompactingSuffix;
        return new Segment(number, temp, _fs.Open(temp));
    }

    /// <summary>Flushes, syncs and renames a finished output to its segment name (then syncs the directory).</summary>
    private void Seal(Segment output, ArrayBufferWriter<byte> buffer)
    {
        if (buffer.WrittenCount > 0)
        {
            output.File.Write(buffer.WrittenSpan, output.Length);
            output.Length += buffer.WrittenCount;
            buffer.ResetWrittenCount();
        }

        output.File.Sync();
        _fs.Move(output.Path, PathOf(output.Number));
        _fs.SyncDirectory(Directory);
        output.Path = PathOf(output.Number);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Directory}: compacted {Sources} segments ({Before} bytes) into {Outputs} ({After} bytes), {Moved} live records moved")]
    private static partial void LogCompacted(Microsoft.Extensions.Logging.ILogger logger, string directory, int sources, long before, int outputs, long after, int moved);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Directory}: compaction failed; will retry later")]
    private static partial void LogCompactionFailed(Microsoft.Extensions.Logging.ILogger logger, string directory, Exception exception);
}
