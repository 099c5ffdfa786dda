using System.Text;
using System.Buffers;
using Tolerex.Storage.Files;

namespace Tolerex.Storage.Log;

public sealed partial class RecordLog
{
    /// <summary>Numbers of the sealed segments (every segment but the active one), ascending.</summary>
    public IReadOnlyList<int> SealedSegments
    {
        get
        {
            var active = ActiveSegment;
            return [.. _segments.Keys.Where(n => n != active).Order()];
        }
    }

    /// <summary>
    /// Every intact record of a sealed segment with its position (damage was reported at recovery and is
    /// skipped). The payloads are slices of one array read from the file.
    /// </summary>
    public IEnumerable<(RecordPosition Position, LogRecord Record)> ReadSegment(int number)
    {
        if (!_segments.TryGetValue(number, out var segment))
            yield break;
        var data = segment.File.ReadAll(segment.Path);
        for (var pos = 0; pos < data.Length;)
        {
            if (!RecordFrame.TryRead(data.AsMemory(pos), _options.Format, _seal, out var record))
            {
                pos = RecordFrame.FindNext(data, _options.Format, _seal, pos + 1) is var next and >= 0 ? next : data.Length;
                continue;
            }

            yield return (new RecordPosition(number, pos), record);
            pos += RecordFrame.SizeOf(record.Payload.Length);
        }
    }

    /// <summary>New segments, numbered above every existing one, for records copied out of sealed segments.</summary>
    public SegmentWriter CreateSegments() => new(this);

    /// <summary>
    /// Closes and deletes sealed segments whose records are no longer needed, durably and as one: their numbers
    /// are first recorded in an obsolete-segments file, from which recovery finishes a deletion a crash cut
    /// short. Deleted one by one, a crash midway (after another sync of the directory made some deletions
    /// durable) could leave a segment holding an old value without the segment holding its tombstone; no order
    /// of deletion prevents that, as compaction outputs are numbered above the segment that was active when
    /// they were made, which may then take the tombstone.
    /// </summary>
    public void DeleteSegments(IEnumerable<int> numbers)
    {
        var active = ActiveSegment;
        var doomed = numbers.Where(n => n != active && _segments.ContainsKey(n)).ToList();
        if (doomed.Count == 0)
            return;
        var manifest = Path.Combine(Directory, ObsoleteSegmentsName);
        AtomicFile.Write(_fs, manifest, Encoding.ASCII.GetBytes(string.Join('\n', doomed)));
        foreach (var number in doomed)
        {
            if (!_segments.TryRemove(number, out var segment))
                continue;
            Interlocked.Add(ref _totalBytes, -segment.Length);
            segment.File.Dispose();
            _fs.Delete(segment.Path);
        }

        DropManifest(manifest);
    }

    /// <summary>Makes the deletions durable, then forgets the obsolete-segments file that named them.</summary>
    private void DropManifest(string manifest)
    {
        _fs.SyncDirectory(Directory);
        _fs.Delete(manifest);
        _fs.SyncDirectory(Directory);
    }

    /// <summary>Finishes a deletion of segments that a crash interrupted (see <see cref="DeleteSegments"/>).</summary>
    private void FinishObsoleteSegments()
    {
        var manifest = Path.Combine(Directory, ObsoleteSegmentsName);
        AtomicFile.DeleteLeftover(_fs, manifest); // never completed, so no deletion had begun
        if (!_fs.Exists(manifest))
            return;
        byte[] content;
        using (var file = _fs.Open(manifest))
            content = file.ReadAll(manifest);

        foreach (var line in Encoding.ASCII.GetString(content).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var listed = int.TryParse(line, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number);
            if (listed && _fs.Exists(PathOf(number)))
                _fs.Delete(PathOf(number));
        }

        DropManifest(manifest);
    }

    /// <summary>
    /// Writes a checkpoint: <paramref name="records"/> stand for everything in the segments below
    /// <paramref name="firstUncovered"/>, which are then deleted. Recovery replays the checkpoint first, then
    /// the segments from <paramref name="firstUncovered"/> on. Atomic: a crash leaves the previous checkpoint
    /// and every segment it did not cover.
    /// </summary>
    public void WriteCheckpoint(int firstUncovered, IEnumerable<LogRecord> records)
    {
        var path = Path.Combine(Directory, _options.CheckpointName);
        AtomicFile.Write(_fs, path, file =>
        {
            var buffer = new ArrayBufferWriter<byte>(1024 * 1024);
            long offset = 0;
            Add(new LogRecord(CheckpointHeaderKind, firstUncovered, 0, ReadOnlyMemory<byte>.Empty));
            foreach (var record in records)
                Add(record);
            Flush();

            void Add(in LogRecord record)
            {
                var size = RecordFrame.SizeOf(record.Payload.Length);
                RecordFrame.Write(buffer.GetSpan(size), _options.Format, _seal, record);
                buffer.Advance(size);
                if (buffer.WrittenCount >= 1024 * 1024)
                    Flush();
            }

            void Flush()
            {
                file.Write(buffer.WrittenSpan, offset);
                offset += buffer.WrittenCount;
                buffer.ResetWrittenCount();
            }
        });
        DeleteSegments(_segments.Keys.Where(n => n < firstUncovered).ToList());
    }

    /// <summary>Names the segments a deletion in progress removes (see <see cref="DeleteSegments"/>).</summary>
    private const string ObsoleteSegmentsName = "obsolete-segments";

    internal RecordLogOptions Options => _options;
    internal IStorageFileSystem FileSystem => _fs;
    internal uint Seal => _seal;
    internal int ReserveSegmentNumber() => Interlocked.Increment(ref _lastSegment);
    internal string SegmentPath(int number) => PathOf(number);

    /// <summary>Makes a committed compaction output readable.</summary>
    internal void Register(LogSegment segment)
    {
        _segments[segment.Number] = segment;
        Interlocked.Add(ref _totalBytes, segment.Length);
    }
}
