using System.Buffers;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Tolerex.Storage.Files;

namespace Tolerex.Storage.Log;

public sealed partial class RecordLog
{
    /// <summary>
    /// Seals the active segment and starts a new one, in queue order: every record queued before this call is
    /// in a segment below the returned number, every record queued after it at or above.
    /// </summary>
    public async Task<int> RollAsync()
    {
        var roll = new RollRequest();
        Append(roll);
        return await roll.Done.Task.ConfigureAwait(false);
    }

    /// <summary>
    /// The single writer: drains every queued record, appends them with one write, syncs once (buffered) or
    /// once per record (unbuffered), then tells each record's layer, in queue order.
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
            while (_queue.Reader.TryRead(out var append))
                append.OnFailed(e);
        }
    }

    private async Task WriteGroupsAsync()
    {
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        var group = new List<(LogAppend Append, RecordPosition? Position)>();
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            group.Clear();
            buffer.ResetWrittenCount();
            RollRequest? roll = null;
            LogAppend? current = null;
            try
            {
                while (buffer.WrittenCount < _options.GroupBytes && _queue.Reader.TryRead(out var append))
                {
                    if (append is RollRequest request)
                    {
                        roll = request;
                        break;
                    }

                    current = append;
                    if (!append.OnAdmit())
                    {
                        group.Add((append, null));
                        current = null;
                        continue;
                    }

                    var size = RecordFrame.SizeOf(append.Record.Payload.Length);
                    if (_active.Length + buffer.WrittenCount > 0 && _active.Length + buffer.WrittenCount + size > _options.SegmentBytes)
                    {
                        Commit(buffer);
                        Roll();
                    }

                    var position = new RecordPosition(_active.Number, _active.Length + buffer.WrittenCount);
                    RecordFrame.Write(buffer.GetSpan(size), _options.Format, _seal, append.Record);
                    buffer.Advance(size);
                    group.Add((append, position));
                    current = null;
                    if (_options.Io == IoMode.Unbuffered)
                        break;
                }

                Commit(buffer);
            }
            catch (Exception e)
            {
                // The writer never dies: the group's records are refused, later ones are tried afresh. While
                // the cause lasts (a full disk) every group fails: one line a second tells how many.
                _failedGroups++;
                if (Stopwatch.GetTimestamp() - _lastFailureLogged >= Stopwatch.Frequency)
                {
                    LogWriteFailed(_logger, Directory, _failedGroups, e);
                    _failedGroups = 0;
                    _lastFailureLogged = Stopwatch.GetTimestamp();
                }

                foreach (var (append, _) in group)
                    append.OnFailed(e);
                current?.OnFailed(e); // the record being placed when a roll failed
                roll?.OnFailed(e);
                continue;
            }

            if (group.Count > 0)
                _options.Metrics?.GroupSize.Record(group.Count);
            foreach (var (append, position) in group)
                append.OnCompleted(position);

            if (roll is not null)
                RollOnRequest(roll);
        }
    }

    private void RollOnRequest(RollRequest roll)
    {
        try
        {
            if (_active.Length > 0)
                Roll();
            roll.Done.TrySetResult(_active.Number);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No new file could be made: appends go on into the current segment; the caller may try again.
            LogRollFailed(_logger, Directory, e);
            roll.Done.TrySetException(e);
        }
    }

    /// <summary>Writes the buffered group at the end of the active segment and syncs it (fsync mode).</summary>
    private void Commit(ArrayBufferWriter<byte> buffer)
    {
        if (buffer.WrittenCount == 0)
            return;
        _active.Space?.Ensure(_active.File, _active.Length + buffer.WrittenCount, _options.SegmentBytes);
        _active.File.Write(buffer.WrittenSpan, _active.Length);
        _options.Metrics?.BytesWritten.Add(buffer.WrittenCount);
        if (_options.Durability == Durability.Fsync)
        {
            var started = Stopwatch.GetTimestamp();
            _active.File.Sync();
            _options.Metrics?.SyncDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
            Interlocked.Increment(ref _syncCount);
        }

        _active.Length += buffer.WrittenCount;
        Interlocked.Add(ref _totalBytes, buffer.WrittenCount);
        buffer.ResetWrittenCount();
    }

    /// <summary>Seals the active segment (its zeroed space is given back) and starts a new one; the new file's
    /// directory entry is made durable before anything is written to it.</summary>
    private void Roll()
    {
        if (_active?.Space is { } space)
        {
            space.Trim(_active.File, _active.Length);
            _active.Space = null;
        }

        var number = Interlocked.Increment(ref _lastSegment);
        var path = PathOf(number);
        var segment = new LogSegment(number, path, _fs.Open(path)) { Space = Preallocation.For(_options.PreallocateBytes, _options.Durability, 0) };
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
        Volatile.Write(ref _active, segment);
    }

    /// <summary>A request to the writer, queued among the records so it takes effect in order.</summary>
    private sealed class RollRequest() : LogAppend(default)
    {
        public TaskCompletionSource<int> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override void Completed(RecordPosition? position)
        {
        }

        protected override void Failed(Exception error) => Done.TrySetException(error);
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "{Directory}: the writer stopped; every further record is refused")]
    private static partial void LogWriterStopped(ILogger logger, string directory, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Append to {Directory} failed; the records of {Groups} groups are refused")]
    private static partial void LogWriteFailed(ILogger logger, string directory, long groups, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Directory}: could not start a new segment; appends continue into the current one")]
    private static partial void LogRollFailed(ILogger logger, string directory, Exception exception);
}
