using System.Buffers;

namespace Tolerex.Leader.Index;

internal sealed partial class IndexLog
{
    private Task _checkpoint = Task.CompletedTask;

    /// <summary>
    /// Called by the writer between groups: starts a new log segment, then writes a snapshot of the index in
    /// the background. Records are idempotent (a put applies only over a lower version, a delete only over a
    /// lower version), so a snapshot taken while changes continue is safe: everything after the roll is
    /// replayed from the new segment on top of it.
    /// </summary>
    private void StartCheckpoint()
    {
        if (!_checkpoint.IsCompleted)
            return;
        _space?.Trim(_log, _logLength);
        _log.Dispose();
        var covered = _logNumber;
        Interlocked.Increment(ref _logNumber); // before the snapshot starts: PublishAsync relies on the order
        _log = _fs.Open(LogPath(_logNumber));
        _fs.SyncDirectory(Directory);
        _logLength = 0;
        _space = NewSpace(0);
        _sinceCheckpoint = 0;
        _checkpoint = Task.Run(() => WriteCheckpoint(firstUncovered: _logNumber, covered));
    }

    /// <summary>Writes a checkpoint now (tests, shutdown): completes when it is durable.</summary>
    internal async Task CheckpointNowAsync()
    {
        await _checkpoint;
        await Enqueue(new Change(new IndexRecord(IndexRecordKind.Checkpoint), null));
        await _checkpoint;
    }

    private void WriteCheckpoint(int firstUncovered, int covered)
    {
        try
        {
            var tmp = Path.Combine(Directory, CheckpointName + ".tmp");
            using (var file = _fs.Open(tmp))
            {
                file.SetLength(0);
                var buffer = new ArrayBufferWriter<byte>(1024 * 1024);
                long offset = 0;
                void Flush()
                {
                    file.Write(buffer.WrittenSpan, offset);
                    offset += buffer.WrittenCount;
                    buffer.ResetWrittenCount();
                }

                new IndexRecord(IndexRecordKind.Checkpoint, Number: firstUncovered).WriteTo(buffer);
                foreach (var m in _registry.All)
                    new IndexRecord(IndexRecordKind.Member, Number: m.Number, Address: m.Address, Identity: m.Identity).WriteTo(buffer);
                foreach (var (id, entry) in _index.Entries)
                {
                    PutRecord(id, entry.Version, entry.Replicas).WriteTo(buffer);
                    if (buffer.WrittenCount > 1024 * 1024)
                        Flush();
                }

                Flush();
                file.Sync();
            }

            _fs.Move(tmp, Path.Combine(Directory, CheckpointName));
            _fs.SyncDirectory(Directory);
            for (var n = covered; n > 0 && _fs.Exists(LogPath(n)); n--)
                _fs.Delete(LogPath(n));
            _fs.SyncDirectory(Directory);
            Checkpoints++;
            LogCheckpointed(_logger, Directory, _index.Count, firstUncovered);
        }
        catch (Exception e)
        {
            // The log segments stay until a checkpoint succeeds, so nothing is lost.
            LogCheckpointFailed(_logger, Directory, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Index checkpoint written in {Directory}: {Ids} ids; log continues in segment {Segment}")]
    private static partial void LogCheckpointed(ILogger logger, string directory, int ids, int segment);

    [LoggerMessage(Level = LogLevel.Error, Message = "Index checkpoint in {Directory} failed; the log is kept")]
    private static partial void LogCheckpointFailed(ILogger logger, string directory, Exception exception);
}
