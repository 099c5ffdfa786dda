using System.Buffers;

namespace Tolerex.Storage.Log;

/// <summary>
/// Writes records copied out of sealed segments into new segments (temporary files until
/// <see cref="Commit"/>, which syncs and renames them and makes them readable). Disposing without committing
/// removes them: the sources still hold everything.
/// </summary>
public sealed class SegmentWriter : IDisposable
{
    internal const string TemporarySuffix = ".compacting";

    private readonly RecordLog _log;
    private readonly List<LogSegment> _outputs = [];
    private readonly ArrayBufferWriter<byte> _buffer = new(1024 * 1024);
    private bool _committed;

    internal SegmentWriter(RecordLog log) => _log = log;

    /// <summary>Bytes written so far.</summary>
    public long Length => _outputs.Sum(o => o.Length) + _buffer.WrittenCount;

    /// <summary>Appends a copy of <paramref name="record"/>; returns where it will be once committed.</summary>
    public RecordPosition Append(in LogRecord record)
    {
        var size = RecordFrame.SizeOf(record.Payload.Length);
        if (_outputs.Count == 0 || (Current.Length + _buffer.WrittenCount > 0 && Current.Length + _buffer.WrittenCount + size > _log.Options.SegmentBytes))
            Start();
        var position = new RecordPosition(Current.Number, Current.Length + _buffer.WrittenCount);
        RecordFrame.Write(_buffer.GetSpan(size), _log.Options.Format, _log.Seal, record);
        _buffer.Advance(size);
        if (_buffer.WrittenCount >= 1024 * 1024)
            FlushBuffer();
        return position;
    }

    /// <summary>Makes every output durable under its segment name and readable through the log.</summary>
    public void Commit()
    {
        FlushBuffer();
        foreach (var output in _outputs)
        {
            output.File.Sync();
            var path = _log.SegmentPath(output.Number);
            _log.FileSystem.Move(output.Path, path);
            output.Path = path;
        }

        _log.FileSystem.SyncDirectory(_log.Directory);
        foreach (var output in _outputs)
            _log.Register(output);
        _committed = true;
    }

    public void Dispose()
    {
        if (_committed)
            return;
        foreach (var output in _outputs)
        {
            output.File.Dispose();
            try
            {
                _log.FileSystem.Delete(output.Path);
            }
            catch (IOException)
            {
                // Recovery removes leftover temporary files.
            }
        }
    }

    private LogSegment Current => _outputs[^1];

    private void Start()
    {
        FlushBuffer();
        var number = _log.ReserveSegmentNumber();
        var temporary = _log.SegmentPath(number) + TemporarySuffix;
        _outputs.Add(new LogSegment(number, temporary, _log.FileSystem.Open(temporary)));
    }

    private void FlushBuffer()
    {
        if (_buffer.WrittenCount == 0)
            return;
        Current.File.Write(_buffer.WrittenSpan, Current.Length);
        Current.Length += _buffer.WrittenCount;
        _buffer.ResetWrittenCount();
    }
}
