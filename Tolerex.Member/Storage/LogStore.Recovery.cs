using Tolerex.Protocol.Storage;

namespace Tolerex.Member.Storage;

internal sealed partial class LogStore
{
    /// <summary>
    /// Rebuilds the index by scanning every segment. A damaged record followed by intact ones is skipped and
    /// reported (the "TX" magic lets the scan find the next record); damage at the end of a segment (a torn
    /// tail from a crash mid-write) is truncated. An all-zero tail is preallocated space: the clean end. Start-up never fails on corrupt data, and
    /// nothing damaged is ever returned as valid.
    /// </summary>
    private void Recover()
    {
        _fs.CreateDirectory(Directory);
        foreach (var leftover in _fs.List(Directory, CompactingSuffix))
            _fs.Delete(Path.Combine(Directory, leftover)); // an interrupted compaction; its sources are intact

        var numbers = _fs.List(Directory, Segment.Suffix)
            .Select(n => Segment.TryParseName(n, out var number) ? number : -1)
            .Where(n => n > 0)
            .Order()
            .ToList();

        _seal = LogSeal.LoadOrCreate(_fs, Directory, numbers.Count > 0, () => DeriveSeal(numbers), message => LogSealRecovered(_logger, message));

        // Versions of deletions seen so far, so an older value scanned later cannot come back.
        var tombstones = new Dictionary<long, long>();
        long records = 0;
        foreach (var number in numbers)
        {
            var segment = new Segment(number, PathOf(number), _fs.Open(PathOf(number)));
            _segments[number] = segment;
            records += Scan(segment, tombstones);
            Interlocked.Add(ref _totalBytes, segment.Length);
            _lastSegment = Math.Max(_lastSegment, number);
        }

        foreach (var (id, version) in tombstones)
        {
            if (_index.TryGetValue(id, out var value) && value.Version < version)
                ApplyTombstone(id, version);
        }

        if (numbers.Count > 0 && _segments[numbers[^1]].Length < _options.SegmentBytes)
        {
            _active = _segments[numbers[^1]];
            _active.Space = Preallocation.For(_options.PreallocateBytes, _options.Durability, _active.File.Length);
        }
        else
        {
            Roll();
        }

        LogRecovered(_logger, Directory, numbers.Count, records, _index.Count, CorruptRecords);
    }

    /// <summary>The seal, from the first segment whose first two records agree on one.</summary>
    private uint? DeriveSeal(List<int> numbers)
    {
        foreach (var number in numbers)
        {
            using var file = _fs.Open(PathOf(number));
            if (LogRecord.DeriveSeal(file.ReadAll(PathOf(number))) is { } seal)
                return seal;
        }

        return null;
    }

    private long Scan(Segment segment, Dictionary<long, long> tombstones)
    {
        var span = segment.File.ReadAll(segment.Path).AsSpan();
        var pos = 0;
        long records = 0;
        while (pos < span.Length)
        {
            if (LogRecord.TryRead(span[pos..], _seal, out var kind, out var id, out var version, out var payloadLength))
            {
                Recovered(segment.Number, pos, kind, id, version, payloadLength, tombstones);
                pos += LogRecord.SizeOf(payloadLength);
                records++;
                continue;
            }

            // Zeros to the end: space the writer allocated ahead (or a file system's zero fill after a crash,
            // where nothing was acknowledged): the clean end of the segment, not damage.
            if (Preallocation.IsZeroTail(span[pos..]))
                break;

            var next = LogRecord.FindNext(span, _seal, pos + 1);
            Interlocked.Increment(ref _corruptRecords);
            CorruptRecordsCounter.Add(1);
            if (next < 0)
            {
                LogTruncated(_logger, segment.Path, pos, span.Length - pos);
                segment.File.SetLength(pos);
                segment.File.Sync();
                break;
            }

            LogSkipped(_logger, segment.Path, pos, next - pos);
            pos = next;
        }

        segment.Length = Math.Min(pos, span.Length);
        return records;
    }

    private void Recovered(int segment, int offset, RecordKind kind, long id, long version, int payloadLength, Dictionary<long, long> tombstones)
    {
        if (kind == RecordKind.Tombstone)
        {
            if (!tombstones.TryGetValue(id, out var seen) || version > seen)
                tombstones[id] = version;
            if (version > Interlocked.Read(ref _maxVersion))
                Interlocked.Exchange(ref _maxVersion, version);
            return;
        }

        if (tombstones.TryGetValue(id, out var deletedAt) && deletedAt >= version)
            return;
        if (!_index.TryGetValue(id, out var held) || version > held.Version)
            ApplyValue(id, new Entry(segment, offset, payloadLength, version));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Message}")]
    private static partial void LogSealRecovered(Microsoft.Extensions.Logging.ILogger logger, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Path}: damaged data at offset {Offset} to the end; truncated {Bytes} bytes")]
    private static partial void LogTruncated(Microsoft.Extensions.Logging.ILogger logger, string path, long offset, long bytes);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Path}: damaged record at offset {Offset}; skipped {Bytes} bytes to the next intact record")]
    private static partial void LogSkipped(Microsoft.Extensions.Logging.ILogger logger, string path, long offset, long bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Directory}: recovered {Segments} segments, {Records} records, {Ids} ids, {Corrupt} damaged")]
    private static partial void LogRecovered(Microsoft.Extensions.Logging.ILogger logger, string directory, int segments, long records, int ids, long corrupt);
}
