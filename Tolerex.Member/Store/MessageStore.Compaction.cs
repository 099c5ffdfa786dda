using System.Diagnostics;

namespace Tolerex.Member.Store;

internal sealed partial class MessageStore
{
    /// <summary>After a failed attempt to start, automatic compaction waits this long before trying again.</summary>
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>One compaction at a time, automatic or asked for.</summary>
    private readonly SemaphoreSlim _compacting = new(1, 1);
    private Task _compaction = Task.CompletedTask;
    private long _nextAttempt;
    private bool _closing;

    /// <summary>Compactions completed (for tests and metrics).</summary>
    internal int Compactions { get; private set; }

    /// <summary>The compaction started last by the store itself (tests wait for it).</summary>
    internal Task AutomaticCompaction => _compaction;

    /// <summary>
    /// Writer only, after each durable record: starts a compaction in the background when enough of the log is
    /// dead (overwritten or deleted records), by both share and bytes.
    /// </summary>
    private void CompactIfDue()
    {
        if (!_compaction.IsCompleted || Stopwatch.GetTimestamp() < Volatile.Read(ref _nextAttempt))
            return;
        var total = _log.TotalBytes;
        var dead = total - LiveBytes;
        if (dead < _options.CompactionMinBytes || dead < total * (_options.CompactionThresholdPercent / 100.0))
            return;
        _compaction = Task.Run(CompactAsync);
    }

    /// <summary>Seals the active segment and compacts every other segment now; completes when done.</summary>
    internal Task CompactNowAsync() => CompactAsync();

    /// <summary>
    /// Seals the active segment (so its dead records count too), copies the live records of every sealed segment
    /// into new segments, points the index at the copies unless a newer write moved the id meanwhile, then
    /// deletes the sources. Nothing is lost on failure: sources go only after their live records are durable
    /// elsewhere, and the next trigger tries again.
    /// </summary>
    private async Task CompactAsync()
    {
        await _compacting.WaitAsync();
        try
        {
            if (Volatile.Read(ref _closing))
                return;
            await _log.RollAsync();
            Compact(_log.SealedSegments);
        }
        catch (Exception e)
        {
            Volatile.Write(ref _nextAttempt, Stopwatch.GetTimestamp() + (long)(RetryDelay.TotalSeconds * Stopwatch.Frequency));
            LogCompactionFailed(_logger, Directory, e);
        }
        finally
        {
            _compacting.Release();
        }
    }

    /// <summary>Waits for a running compaction and starts no other.</summary>
    private async Task StopCompactingAsync()
    {
        Volatile.Write(ref _closing, true);
        await _compacting.WaitAsync();
        _compacting.Release();
    }

    private void Compact(IReadOnlyList<int> sources)
    {
        if (sources.Count == 0)
            return;
        var before = _log.TotalBytes;
        var moves = new List<(long Id, Entry From, Entry To)>();
        using var output = _log.CreateSegments();
        foreach (var source in sources)
        {
            foreach (var (position, record) in _log.ReadSegment(source))
            {
                var from = new Entry(position.Segment, record.Payload.Length, position.Offset, record.Version);
                if (record.Kind != ValueKind || !_index.TryGetValue(record.Key, out var current) || current != from)
                    continue;
                var to = output.Append(record);
                moves.Add((record.Key, from, new Entry(to.Segment, record.Payload.Length, to.Offset, record.Version)));
            }
        }

        // The copies are durable and readable; move the index over, then drop the sources.
        output.Commit();
        foreach (var (id, from, to) in moves)
            _index.TryUpdate(id, to, from);
        _log.DeleteSegments(sources);
        // Their tombstones are gone from disk with them (with every older value), so those versions may be stored again.
        var dropped = sources.ToHashSet();
        foreach (var (id, deletion) in _deleted)
        {
            if (dropped.Contains(deletion.Segment))
                _deleted.TryRemove(new KeyValuePair<long, (long, int)>(id, deletion));
        }

        Compactions++;
        LogCompacted(_logger, Directory, sources.Count, before, _log.TotalBytes, moves.Count);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Directory}: compacted {Sources} segments; log {Before} → {After} bytes, {Moved} live records moved")]
    private static partial void LogCompacted(ILogger logger, string directory, int sources, long before, long after, int moved);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Directory}: compaction failed; will retry later")]
    private static partial void LogCompactionFailed(ILogger logger, string directory, Exception exception);
}
