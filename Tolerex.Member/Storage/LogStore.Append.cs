using System.Buffers;

namespace Tolerex.Member.Storage;

internal sealed partial class LogStore
{
    // Bytes gathered into one group before it is written; a larger single record still goes alone.
    private const int GroupBytes = 1024 * 1024;

    /// <summary>
    /// The single writer: drains every queued write, appends the new records with one write, fsyncs once
    /// (buffered mode) or once per record (unbuffered), then publishes them to the index and acks the callers.
    /// Only the writer touches <see cref="_tail"/> and applies versions, so concurrent stores of one id are ordered.
    /// </summary>
    private async Task WriteLoopAsync()
    {
        var group = new List<PendingWrite>();
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        var staged = new Dictionary<long, long>();
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            group.Clear();
            buffer.ResetWrittenCount();
            staged.Clear();
            var placed = new List<(PendingWrite Write, long HeldVersion, long Offset)>();
            while (buffer.WrittenCount < GroupBytes && _queue.Reader.TryRead(out var write))
            {
                group.Add(write);
                var held = HeldVersion(write.Id, staged);
                if (held >= write.Version)
                {
                    placed.Add((write, held, -1)); // superseded: nothing to write
                    continue;
                }

                staged[write.Id] = write.Version;
                var size = LogRecord.SizeOf(write.Payload.Length);
                var offset = _tail + buffer.WrittenCount;
                LogRecord.Write(buffer.GetSpan(size), write.Id, write.Version, write.Payload.Span);
                buffer.Advance(size);
                placed.Add((write, write.Version, offset));
                if (_mode == IoMode.Unbuffered)
                    break;
            }

            try
            {
                if (buffer.WrittenCount > 0)
                {
                    RandomAccess.Write(_handle, buffer.WrittenSpan, _tail);
                    RandomAccess.FlushToDisk(_handle);
                    Interlocked.Increment(ref _syncCount);
                    _tail += buffer.WrittenCount;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogWriteFailed(_logger, Path, e);
                foreach (var (write, _, _) in placed)
                    write.Completion.TrySetException(e);
                continue;
            }

            foreach (var (write, held, offset) in placed)
            {
                if (offset >= 0)
                    Apply(write.Id, new Entry(offset + LogRecord.HeaderSize, write.Payload.Length, write.Version));
                write.Completion.TrySetResult(held);
            }
        }
    }

    private long HeldVersion(long id, Dictionary<long, long> staged) =>
        staged.TryGetValue(id, out var v) ? v : _index.TryGetValue(id, out var e) ? e.Version : long.MinValue;

    [LoggerMessage(Level = LogLevel.Error, Message = "Append to {Path} failed; the writes in this group are refused")]
    private static partial void LogWriteFailed(ILogger logger, string path, Exception exception);
}
