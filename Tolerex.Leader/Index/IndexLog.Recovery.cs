using System.Globalization;
using Tolerex.Protocol.Storage;

namespace Tolerex.Leader.Index;

internal sealed partial class IndexLog
{
    /// <summary>
    /// Loads the checkpoint (if any), then replays every log segment it does not cover. Damaged records are
    /// skipped and reported; a damaged tail of the newest segment (a crash mid-append) is truncated; an
    /// all-zero tail is preallocated space, the clean end.
    /// </summary>
    private void Recover()
    {
        _fs.CreateDirectory(Directory);
        var tmp = Path.Combine(Directory, CheckpointName + ".tmp");
        if (_fs.Exists(tmp))
            _fs.Delete(tmp); // a checkpoint interrupted before its rename; the log still has everything

        var firstUncovered = 0;
        var checkpoint = Path.Combine(Directory, CheckpointName);
        long records = 0;
        if (_fs.Exists(checkpoint))
        {
            using var file = _fs.Open(checkpoint);
            records += Replay(file, checkpoint, truncateTail: false, onCheckpoint: n => firstUncovered = n).Records;
        }

        var numbers = _fs.List(Directory, LogSuffix)
            .Select(n => int.TryParse(n.AsSpan(0, n.Length - LogSuffix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var x) ? x : -1)
            .Where(n => n > 0)
            .Order()
            .ToList();
        foreach (var number in numbers.Where(n => n < firstUncovered))
            _fs.Delete(LogPath(number)); // covered by the checkpoint; a crash came before their deletion

        var replay = numbers.Where(n => n >= firstUncovered).ToList();
        for (var i = 0; i < replay.Count; i++)
        {
            var last = i == replay.Count - 1;
            var file = _fs.Open(LogPath(replay[i]));
            var (replayed, end) = Replay(file, LogPath(replay[i]), truncateTail: last, onCheckpoint: null);
            records += replayed;
            if (last)
            {
                _log = file;
                _logNumber = replay[i];
                _logLength = end;
                _space = NewSpace(file.Length);
            }
            else
            {
                _sinceCheckpoint += end;
                file.Dispose();
            }
        }

        if (_log is null)
        {
            _logNumber = Math.Max(firstUncovered, 1);
            _log = _fs.Open(LogPath(_logNumber));
            _fs.SyncDirectory(Directory);
            _space = NewSpace(_log.Length);
        }

        _sinceCheckpoint += _logLength;
        LogRecovered(_logger, Directory, records, _index.Count, _registry.All.Length, CorruptRecords);
    }

    /// <summary>Applies every intact record; returns how many, and where the log's records end.</summary>
    private (long Records, long End) Replay(Protocol.Storage.IStorageFile file, string path, bool truncateTail, Action<int>? onCheckpoint)
    {
        var data = file.ReadAll(path);
        var length = data.Length;

        long records = 0;
        var pos = 0;
        while (pos < length)
        {
            if (IndexRecord.TryRead(data.AsSpan(pos), out var record, out var size))
            {
                if (record.Kind == IndexRecordKind.Checkpoint)
                    onCheckpoint?.Invoke(record.Number);
                else
                    Apply(record, null);
                pos += size;
                records++;
                continue;
            }

            // Zeros to the end are preallocated space (see Preallocation): the clean end, not damage.
            if (Preallocation.IsZeroTail(data.AsSpan(pos)))
                break;

            CorruptRecords++;
            var next = IndexRecord.FindNext(data, pos + 1);
            if (next < 0)
            {
                LogDamagedTail(_logger, path, pos, length - pos);
                if (truncateTail)
                {
                    file.SetLength(pos);
                    file.Sync();
                }

                return (records, pos);
            }

            LogSkipped(_logger, path, pos, next - pos);
            pos = next;
        }

        return (records, Math.Min(pos, length));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Path}: damaged data from offset {Offset} to the end ({Bytes} bytes) ignored")]
    private static partial void LogDamagedTail(ILogger logger, string path, long offset, long bytes);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Path}: damaged record at offset {Offset}; skipped {Bytes} bytes to the next intact record")]
    private static partial void LogSkipped(ILogger logger, string path, long offset, long bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Index recovered from {Directory}: {Records} records, {Ids} ids, {Members} members, {Corrupt} damaged")]
    private static partial void LogRecovered(ILogger logger, string directory, long records, int ids, int members, long corrupt);
}
