using Microsoft.Extensions.Logging;
using Tolerex.Storage.Files;

namespace Tolerex.Storage.Log;

public sealed partial class RecordLog
{
    /// <summary>
    /// Replays the checkpoint (if any) and every segment it does not cover. A damaged record followed by intact
    /// ones is skipped and reported (the magic lets the scan find the next record); damage at the end of a
    /// segment (a torn tail from a crash mid-write) is truncated; an all-zero tail is preallocated space, the
    /// clean end. Start-up never fails on damaged data, and nothing damaged is ever handed over as valid.
    /// </summary>
    private void Recover(RecordVisitor visit)
    {
        _fs.CreateDirectory(Directory);
        _directoryLock = _fs.Lock(Directory);
        foreach (var leftover in _fs.List(Directory, SegmentWriter.TemporarySuffix))
            _fs.Delete(Path.Combine(Directory, leftover)); // an interrupted compaction; its sources are intact
        FinishObsoleteSegments();
        var checkpoint = Path.Combine(Directory, _options.CheckpointName);
        AtomicFile.DeleteLeftover(_fs, checkpoint); // an interrupted checkpoint; the segments still hold everything

        var numbers = _fs.List(Directory, _options.SegmentSuffix)
            .Select(n => LogSegment.TryParseName(n, _options.SegmentSuffix, out var number) ? number : 0)
            .Where(n => n > 0)
            .Order()
            .ToList();
        var hasCheckpoint = _fs.Exists(checkpoint);
        _seal = LogSeal.LoadOrCreate(_fs, Directory, numbers.Count > 0 || hasCheckpoint, () => DeriveSeal(numbers, hasCheckpoint ? checkpoint : null),
            message => LogSealRecovered(_logger, message));

        long records = 0;
        var firstUncovered = 0;
        if (hasCheckpoint)
        {
            using var file = _fs.Open(checkpoint);
            var first = true;
            records += Scan(file, checkpoint, segment: 0, (in LogRecord record, RecordPosition position) =>
            {
                if (first && record.Kind == CheckpointHeaderKind)
                    firstUncovered = (int)record.Key;
                else
                    visit(record, position);
                first = false;
            }, out _);
        }

        var covered = numbers.Where(n => n < firstUncovered).ToList();
        foreach (var number in covered)
            _fs.Delete(PathOf(number)); // covered by the checkpoint; a crash came before their deletion
        if (covered.Count > 0)
            _fs.SyncDirectory(Directory);

        foreach (var number in numbers.Where(n => n >= firstUncovered))
        {
            var segment = new LogSegment(number, PathOf(number), _fs.Open(PathOf(number)));
            _segments[number] = segment;
            records += Scan(segment.File, segment.Path, number, visit, out var end);
            segment.Length = end;
            Interlocked.Add(ref _totalBytes, end);
            _lastSegment = Math.Max(_lastSegment, number);
        }

        _lastSegment = Math.Max(_lastSegment, firstUncovered - 1);
        if (_segments.TryGetValue(_lastSegment, out var last) && last.Length < _options.SegmentBytes)
        {
            last.Space = Preallocation.For(_options.PreallocateBytes, _options.Durability, last.File.Length);
            _active = last;
        }
        else
        {
            Roll();
        }

        // The space ahead is made now, at start-up, rather than by the first group commit.
        _active.Space?.Ensure(_active.File, _active.Length + 1, _options.SegmentBytes);

        LogRecovered(_logger, Directory, hasCheckpoint, _segments.Count, records, CorruptRecords);
    }

    /// <summary>
    /// Hands every intact record of <paramref name="file"/> to <paramref name="visit"/> and returns how many;
    /// <paramref name="end"/> is where its records end (a damaged tail is cut off there).
    /// </summary>
    private long Scan(IStorageFile file, string path, int segment, RecordVisitor visit, out long end)
    {
        var data = file.ReadAll(path);
        var pos = 0;
        long records = 0;
        while (pos < data.Length)
        {
            if (RecordFrame.TryRead(data.AsMemory(pos), _options.Format, _seal, out var record))
            {
                visit(record, new RecordPosition(segment, pos));
                pos += RecordFrame.SizeOf(record.Payload.Length);
                records++;
                continue;
            }

            // Zeros to the end: space the writer allocated ahead (or a file system's zero fill after a crash,
            // where nothing was acknowledged): the clean end, not damage.
            if (Preallocation.IsZeroTail(data.AsSpan(pos)))
                break;

            Interlocked.Increment(ref _corruptRecords);
            _options.Metrics?.CorruptRecords.Add(1);
            var next = RecordFrame.FindNext(data, _options.Format, _seal, pos + 1);
            if (next < 0)
            {
                LogTruncated(_logger, path, pos, data.Length - pos);
                file.SetLength(pos);
                file.Sync();
                break;
            }

            LogSkipped(_logger, path, pos, next - pos);
            pos = next;
        }

        end = Math.Min(pos, data.Length);
        return records;
    }

    /// <summary>The seal, from the first file whose first two records agree on one.</summary>
    private uint? DeriveSeal(List<int> numbers, string? checkpoint)
    {
        foreach (var path in numbers.Select(PathOf).Append(checkpoint).OfType<string>())
        {
            using var file = _fs.Open(path);
            if (RecordFrame.DeriveSeal(file.ReadAll(path), _options.Format) is { } seal)
                return seal;
        }

        return null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Message}")]
    private static partial void LogSealRecovered(ILogger logger, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Path}: damaged data at offset {Offset} to the end; truncated {Bytes} bytes")]
    private static partial void LogTruncated(ILogger logger, string path, long offset, long bytes);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Path}: damaged record at offset {Offset}; skipped {Bytes} bytes to the next intact record")]
    private static partial void LogSkipped(ILogger logger, string path, long offset, long bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Directory}: recovered checkpoint={Checkpoint}, {Segments} segments, {Records} records, {Corrupt} damaged")]
    private static partial void LogRecovered(ILogger logger, string directory, bool checkpoint, int segments, long records, long corrupt);
}
