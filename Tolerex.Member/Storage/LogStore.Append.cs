using Tolerex.Protocol.Storage;
using System.Buffers;

namespace Tolerex.Member.Storage;

internal sealed partial class LogStore
{
    // Bytes gathered into one group before it is written; a larger single record still goes alone.
    private const int GroupBytes = 1024 * 1024;

    /// <summary>A record placed in the current group: where it will live, and what its caller is told.</summary>
    private readonly record struct Placed(PendingWrite Write, int Segment, long Offset, long Result, bool Written);

    /// <summary>
    /// The single writer: drains every queued write, appends the new records with one write, syncs once
    /// (buffered) or once per record (unbuffered), then publishes them to the index and acks the callers.
    /// Only the writer appends, rolls segments and applies versions, so concurrent writes of one id are ordered.
    /// </summary>
    private async Task WriteLoopAsync()
    {
        try
        {
            await WriteGroupsAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Not expected (every failure is handled per group), but a dead writer must not leave callers
            // waiting forever: refuse everything queued and everything after.
            LogWriterStopped(_logger, Directory, e);
            Volatile.Write(ref _writerFailure, e);
            _queue.Writer.TryComplete(e);
            while (_queue.Reader.TryRead(out var write))
                write.Completion.TrySetException(e);
        }
    }

    private async Task WriteGroupsAsync()
    {
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        var placed = new List<Placed>();
        // Versions (and deletions) decided earlier in the same group, not yet in the index.
        var staged = new Dictionary<long, (long Version, bool Deleted)>();
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            placed.Clear();
            staged.Clear();
            buffer.ResetWrittenCount();
            PendingWrite? compactNow = null;
            PendingWrite? current = null;
            try
            {
                while (buffer.WrittenCount < GroupBytes && _queue.Reader.TryRead(out var write))
                {
                    current = write;
                    if (write.Kind == RecordKind.Control)
                    {
                        compactNow = write;
                        break;
                    }

                    if (Decide(write, staged) is { } skipped)
                    {
                        placed.Add(new Placed(write, 0, 0, skipped, Written: false));
                        current = null;
                        continue;
                    }

                    var size = LogRecord.SizeOf(write.Payload.Length);
                    if (_active.Length + buffer.WrittenCount > 0 && _active.Length + buffer.WrittenCount + size > _options.SegmentBytes)
                    {
                        Commit(buffer);
                        Roll();
                    }

                    var offset = _active.Length + buffer.WrittenCount;
                    LogRecord.Write(buffer.GetSpan(size), _seal, write.Kind, write.Id, write.Version, write.Payload.Span);
                    buffer.Advance(size);
                    staged[write.Id] = (write.Version, write.Kind == RecordKind.Tombstone);
                    placed.Add(new Placed(write, _active.Number, offset, write.Version, Written: true));
                    current = null;
                    if (_options.Io == IoMode.Unbuffered)
                        break;
                }

                Commit(buffer);
            }
            catch (Exception e)
            {
                // The writer never dies: the group's callers get the error, later writes are tried afresh.
                LogWriteFailed(_logger, Directory, e);
                foreach (var p in placed)
                    p.Write.Completion.TrySetException(e);
                compactNow?.Completion.TrySetException(e);
                current?.Completion.TrySetException(e); // the write being placed when a roll failed
                continue;
            }

            if (placed.Count > 0)
                GroupSize.Record(placed.Count);
            foreach (var p in placed)
                p.Write.Completion.TrySetResult(p.Written ? Publish(p) : p.Result);

            try
            {
                StartCompaction(force: compactNow is not null);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Sealing the active segment failed (no new file could be made): writes go on into the
                // current one, and the next group tries again.
                LogCompactionNotStarted(_logger, Directory, e);
                compactNow?.Completion.TrySetException(e);
                continue;
            }

            // Completed only now, so CompactNowAsync sees the compaction this started.
            compactNow?.Completion.TrySetResult(0);
        }
    }

    /// <summary>Null when the write must be appended; otherwise the result to give without writing.</summary>
    private long? Decide(PendingWrite write, Dictionary<long, (long Version, bool Deleted)> staged)
    {
        long? held = null;
        if (staged.TryGetValue(write.Id, out var s))
            held = s.Deleted ? null : s.Version;
        else if (_index.TryGetValue(write.Id, out var e))
            held = e.Version;

        if (write.Kind == RecordKind.Value)
            return held >= write.Version ? held : null;
        // A delete of something not held, or older than what is held, writes nothing.
        return held is null || held >= write.Version ? 0 : null;
    }

    /// <summary>Writes the buffered group at the end of the active segment and syncs it (fsync mode).</summary>
    private void Commit(ArrayBufferWriter<byte> buffer)
    {
        if (buffer.WrittenCount == 0)
            return;
        _active.Space?.Ensure(_active.File, _active.Length + buffer.WrittenCount, _options.SegmentBytes);
        _active.File.Write(buffer.WrittenSpan, _active.Length);
        BytesWritten.Add(buffer.WrittenCount);
        if (_options.Durability == Durability.Fsync)
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            _active.File.Sync();
            SyncDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
            Interlocked.Increment(ref _syncCount);
        }

        _active.Length += buffer.WrittenCount;
        Interlocked.Add(ref _totalBytes, buffer.WrittenCount);
        buffer.ResetWrittenCount();
    }

    private long Publish(Placed p)
    {
        if (p.Write.Kind == RecordKind.Tombstone)
        {
            // A tombstone is garbage as soon as it is written: it only has to outlive the values it hides.
            return ApplyTombstone(p.Write.Id, p.Write.Version) ? 1 : 0;
        }

        ApplyValue(p.Write.Id, new Entry(p.Segment, p.Offset, p.Write.Payload.Length, p.Write.Version));
        return p.Result;
    }

    /// <summary>Seals the active segment (its zeroed space is given back) and starts a new one; the new file's
    /// directory entry is made durable first.</summary>
    private void Roll()
    {
        if (_active?.Space is { } space)
        {
            space.Trim(_active.File, _active.Length);
            _active.Space = null;
        }

        var number = Interlocked.Increment(ref _lastSegment);
        var path = PathOf(number);
        var segment = new Segment(number, path, _fs.Open(path)) { Space = Preallocation.For(_options.PreallocateBytes, _options.Durability, 0) };
        try
        {
            _fs.SyncDirectory(Directory);
        }
        catch
        {
            segment.File.Dispose(); // an empty file at most is left; recovery accepts it
            throw;
        }

        _segments[number] = segment;
        _active = segment;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Directory}: could not seal the active segment for compaction; writes continue into it")]
    private static partial void LogCompactionNotStarted(ILogger logger, string directory, Exception exception);

    [LoggerMessage(Level = LogLevel.Critical, Message = "{Directory}: the writer stopped; every further write is refused")]
    private static partial void LogWriterStopped(ILogger logger, string directory, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Append to {Directory} failed; the writes in this group are refused")]
    private static partial void LogWriteFailed(ILogger logger, string directory, Exception exception);
}
