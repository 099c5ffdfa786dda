namespace Tolerex.Member.Storage;

internal sealed partial class LogStore
{
    /// <summary>
    /// Rebuilds the index by scanning the log. A record that is cut short or fails its checksum ends the
    /// valid log: it and everything after it is truncated, reported, and never returned. (With a single file
    /// and no resynchronisation markers a later intact record cannot be told from garbage; the segment
    /// format of the storage issue adds that.) Startup never fails on corrupt data.
    /// </summary>
    private void Recover()
    {
        var length = RandomAccess.GetLength(_handle);
        var header = new byte[LogRecord.HeaderSize];
        byte[] record = [];
        long offset = 0;
        long records = 0;
        string? damage = null;
        while (offset < length)
        {
            if (length - offset < LogRecord.HeaderSize || RandomAccess.Read(_handle, header, offset) < LogRecord.HeaderSize)
            {
                damage = "torn header";
                break;
            }

            if (!LogRecord.TryReadHeader(header, out var id, out var version, out var payloadLength))
            {
                damage = "invalid header";
                break;
            }

            var size = LogRecord.SizeOf(payloadLength);
            if (length - offset < size)
            {
                damage = "torn record";
                break;
            }

            if (record.Length < size)
                record = new byte[Math.Max(size, record.Length * 2)];
            var span = record.AsSpan(0, size);
            if (RandomAccess.Read(_handle, span, offset) < size || !LogRecord.IsIntact(span))
            {
                damage = "checksum mismatch";
                break;
            }

            if (!_index.TryGetValue(id, out var held) || version > held.Version)
                Apply(id, new Entry(offset + LogRecord.HeaderSize, payloadLength, version));
            offset += size;
            records++;
        }

        if (damage is not null)
        {
            LogTruncated(_logger, Path, offset, length - offset, damage);
            RandomAccess.SetLength(_handle, offset);
            RandomAccess.FlushToDisk(_handle);
        }

        _tail = offset;
        LogRecovered(_logger, Path, records, _index.Count);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Path}: {Damage} at offset {Offset}; truncated {Bytes} bytes")]
    private static partial void LogTruncated(ILogger logger, string path, long offset, long bytes, string damage);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Path}: recovered {Records} records, {Ids} ids")]
    private static partial void LogRecovered(ILogger logger, string path, long records, int ids);
}
