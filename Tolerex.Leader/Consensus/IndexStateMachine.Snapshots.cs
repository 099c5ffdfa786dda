using System.Globalization;
using DotNext.IO;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using Tolerex.Leader.Index;
using Tolerex.Storage.Files;
using Tolerex.Storage.Log;

namespace Tolerex.Leader.Consensus;

/// <summary>
/// Snapshots: memory written to <c>snapshots/{index}-{term}.snapshot</c> (<see cref="AtomicFile"/>: written, synced,
/// renamed, directory synced), which stands for every log entry up to its index; the log then drops those entries.
/// A snapshot begins after this many bytes of entries (<c>CheckpointBytes</c>) and is written while entries keep
/// being applied. Start = newest snapshot + the log after it.
/// </summary>
internal sealed partial class IndexStateMachine
{
    private const string Suffix = ".snapshot";
    private const byte HeaderKind = 0;
    private volatile IndexSnapshot? _snapshot;
    private Task _snapshotting = Task.CompletedTask;
    private long _snapshotBegun;

    public string SnapshotDirectory => Path.Combine(_options.DataDir, "snapshots");

    /// <summary>Snapshots written since start (tests).</summary>
    internal int Snapshots { get; private set; }

    ISnapshot? ISnapshotManager.Snapshot => _snapshot;

    /// <summary>
    /// True when a snapshot has begun at or after <paramref name="entryIndex"/>: the log may drop that entry, so a
    /// record of it applied to memory only now (a SET's put) may be missing from the snapshot and must be logged again.
    /// Read it after changing memory: a snapshot that begins later reads memory after the change.
    /// </summary>
    public bool SnapshotCovers(long entryIndex) => Interlocked.Read(ref _snapshotBegun) >= entryIndex;

    /// <summary>Loads the newest snapshot into memory; called before the log opens (it starts after the snapshot).</summary>
    private void Restore()
    {
        _fs.CreateDirectory(SnapshotDirectory);
        foreach (var leftover in _fs.List(SnapshotDirectory, Suffix + AtomicFile.TemporarySuffix))
            _fs.Delete(Path.Combine(SnapshotDirectory, leftover)); // a snapshot a crash cut short
        var files = SnapshotFiles().ToList();
        if (files.Count == 0)
            return;
        var newest = files.MaxBy(s => s.Index);
        var path = Path.Combine(SnapshotDirectory, newest.Name);
        byte[] data;
        using (var file = _fs.Open(path))
            data = file.ReadAll(path);
        var ids = Load(data, path);
        _appliedIndex = newest.Index;
        _appliedTerm = newest.Term;
        _snapshotBegun = newest.Index;
        _snapshot = new IndexSnapshot(_fs, path, newest.Index, newest.Term, data.Length);
        LogRestored(logger, path, ids, registry.All.Length);
    }

    /// <summary>Writes a snapshot now (tests, benchmarks): completes when it is durable.</summary>
    internal async Task SnapshotNowAsync()
    {
        await _snapshotting;
        BeginSnapshot();
        await _snapshotting;
    }

    /// <summary>Applier only: starts a snapshot of memory as of the last applied entry, unless one is running.</summary>
    private bool BeginSnapshot()
    {
        if (!_snapshotting.IsCompleted)
            return false;
        var (index, term) = (_appliedIndex, _appliedTerm);
        Interlocked.Exchange(ref _snapshotBegun, index);
        _snapshotting = Task.Run(() => WriteSnapshot(index, term));
        return true;
    }

    private void WriteSnapshot(long index, long term)
    {
        var path = Path.Combine(SnapshotDirectory, $"{index}-{term}{Suffix}");
        try
        {
            long length = 0;
            AtomicFile.Write(_fs, path, file =>
            {
                var buffer = new byte[1 << 20];
                var used = 0;
                foreach (var record in Contents(index, term))
                {
                    var size = JournalEntryFormat.SizeOf(record);
                    if (used + size > buffer.Length)
                    {
                        file.Write(buffer.AsSpan(0, used), length);
                        length += used;
                        used = 0;
                        if (size > buffer.Length)
                            buffer = new byte[size];
                    }

                    JournalEntryFormat.Write(buffer.AsSpan(used), record);
                    used += size;
                }

                file.Write(buffer.AsSpan(0, used), length);
                length += used;
            });
            _snapshot = new IndexSnapshot(_fs, path, index, term, length);
            Snapshots++;
            LogSnapshotWritten(logger, path, map.Count);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The log keeps every entry until a snapshot succeeds, so nothing is lost.
            LogSnapshotFailed(logger, path, e);
        }
    }

    private IEnumerable<LogRecord> Contents(long index, long term)
    {
        yield return new LogRecord(HeaderKind, index, term, ReadOnlyMemory<byte>.Empty);
        yield return IndexRecords.FloorOf(map.MaxVersion);
        foreach (var m in registry.All)
        {
            yield return IndexRecords.MemberOf(m.Number, m.Address, m.Identity);
            if (m.Decommissioned)
                yield return IndexRecords.DecommissionedOf(m.Number);
        }
        foreach (var (id, entry) in map.Entries)
            yield return IndexRecords.PutOf(id, entry.Version, entry.Replicas);
    }

    /// <summary>A snapshot sent by the group's leader replaces this node's state (it was behind the leader's log).</summary>
    private async ValueTask<long> InstallAsync(LogEntry entry, CancellationToken token)
    {
        await _snapshotting;
        var data = await entry.ToByteArrayAsync(token: token);
        var path = Path.Combine(SnapshotDirectory, $"{entry.Index}-{entry.Term}{Suffix}");
        AtomicFile.Write(_fs, path, data);
        map.Clear();
        var ids = Load(data, path);
        Volatile.Write(ref _appliedTerm, entry.Term);
        Volatile.Write(ref _appliedIndex, entry.Index);
        Interlocked.Exchange(ref _snapshotBegun, entry.Index);
        _snapshot = new IndexSnapshot(_fs, path, entry.Index, entry.Term, data.Length);
        _sinceSnapshot = 0;
        LogInstalled(logger, path, ids);
        return entry.Index;
    }

    private int Load(byte[] data, string path)
    {
        foreach (var record in JournalEntryFormat.Read(data, bytes => DamagedSnapshot(path, bytes)))
        {
            if (record.Kind != HeaderKind)
                Apply(record, null);
        }

        return map.Count;
    }

    /// <summary>Drops snapshots older than the log keeps entries for; never the current one.</summary>
    ValueTask ISnapshotManager.ReclaimGarbageAsync(long watermark, CancellationToken token)
    {
        var current = _snapshot?.Index;
        foreach (var (name, index, _) in SnapshotFiles())
        {
            if (index < watermark && index != current)
                _fs.Delete(Path.Combine(SnapshotDirectory, name));
        }

        return ValueTask.CompletedTask;
    }

    private IEnumerable<(string Name, long Index, long Term)> SnapshotFiles()
    {
        foreach (var name in _fs.List(SnapshotDirectory, Suffix))
        {
            if (name[..^Suffix.Length].Split('-') is [var i, var t]
                && long.TryParse(i, NumberStyles.None, CultureInfo.InvariantCulture, out var index)
                && long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var term))
            {
                yield return (name, index, term);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Index restored from {Path}: {Ids} ids, {Members} members; the consensus log follows")]
    private static partial void LogRestored(ILogger logger, string path, int ids, int members);

    [LoggerMessage(Level = LogLevel.Information, Message = "Index snapshot written to {Path}: {Ids} ids")]
    private static partial void LogSnapshotWritten(ILogger logger, string path, int ids);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Index snapshot from the group's leader installed in {Path}: {Ids} ids")]
    private static partial void LogInstalled(ILogger logger, string path, int ids);

    [LoggerMessage(Level = LogLevel.Error, Message = "Index snapshot {Path} failed; the log keeps its entries")]
    private static partial void LogSnapshotFailed(ILogger logger, string path, Exception exception);
}

/// <summary>A snapshot file as the consensus log sees it: it sends the file to a node too far behind to catch up from entries.</summary>
internal sealed class IndexSnapshot(IStorageFileSystem fs, string path, long index, long term, long length) : ISnapshot
{
    public long Index { get; } = index;
    public long Term { get; } = term;
    public bool IsReusable => true;
    public long? Length { get; } = length;

    public async ValueTask WriteToAsync<TWriter>(TWriter writer, CancellationToken token) where TWriter : IAsyncBinaryWriter
    {
        byte[] data;
        using (var file = fs.Open(path))
            data = file.ReadAll(path);
        await writer.WriteAsync(data, null, token);
    }
}
