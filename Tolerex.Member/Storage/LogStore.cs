using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Win32.SafeHandles;

namespace Tolerex.Member.Storage;

/// <summary>
/// An append-only, checksummed message log with an in-memory index (Bitcask-style). One writer task owns
/// the file's tail and commits queued records as a group; readers use positional reads and never wait for
/// the writer. First version: one file, no compaction (the storage issue adds segments and compaction).
/// </summary>
internal sealed partial class LogStore : IMessageStore
{
    public const string FileName = "messages.log";

    /// <summary>Where a held copy's payload sits in the file. 24 bytes per id, plus the dictionary's own overhead.</summary>
    private readonly record struct Entry(long PayloadOffset, int Length, long Version);

    private readonly ConcurrentDictionary<long, Entry> _index = new();
    private readonly SafeFileHandle _handle;
    private readonly IoMode _mode;
    private readonly ILogger<LogStore> _logger;
    private readonly Channel<PendingWrite> _queue = Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;
    private long _tail;
    private long _bytesHeld;
    private long _maxVersion;
    private long _syncCount;

    private LogStore(SafeFileHandle handle, IoMode mode, ILogger<LogStore> logger)
    {
        _handle = handle;
        _mode = mode;
        _logger = logger;
        _writer = Task.Run(WriteLoopAsync);
    }

    public string Path { get; private init; } = "";

    /// <summary>Number of fsyncs so far (group commit makes this far smaller than the number of records).</summary>
    internal long SyncCount => Interlocked.Read(ref _syncCount);

    public StoreStats Stats => new(_index.Count, Interlocked.Read(ref _bytesHeld), Interlocked.Read(ref _maxVersion));

    /// <summary>Opens (creating if needed) the log in <paramref name="directory"/> and recovers its index.</summary>
    public static LogStore Open(string directory, IoMode mode, ILogger<LogStore> logger)
    {
        Directory.CreateDirectory(directory);
        var path = System.IO.Path.Combine(directory, FileName);
        var handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        var store = new LogStore(handle, mode, logger) { Path = path };
        try
        {
            store.Recover();
        }
        catch
        {
            handle.Dispose();
            throw;
        }

        return store;
    }

    public ValueTask<long> StoreAsync(long id, long version, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var write = new PendingWrite(id, version, payload);
        if (!_queue.Writer.TryWrite(write))
            throw new ObjectDisposedException(nameof(LogStore));
        return new ValueTask<long>(write.Completion.Task);
    }

    public async ValueTask<StoredMessage?> ReadAsync(long id, CancellationToken cancellationToken)
    {
        if (!_index.TryGetValue(id, out var entry))
            return null;
        var payload = new byte[entry.Length];
        var read = 0;
        while (read < payload.Length)
        {
            var n = await RandomAccess.ReadAsync(_handle, payload.AsMemory(read), entry.PayloadOffset + read, cancellationToken);
            if (n == 0)
                throw new IOException($"{Path}: unexpected end of file reading id {id}");
            read += n;
        }

        return new StoredMessage(entry.Version, payload);
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        _handle.Dispose();
    }

    private void Apply(long id, Entry entry)
    {
        if (_index.TryGetValue(id, out var old))
            Interlocked.Add(ref _bytesHeld, -old.Length);
        _index[id] = entry;
        Interlocked.Add(ref _bytesHeld, entry.Length);
        if (entry.Version > Interlocked.Read(ref _maxVersion))
            Interlocked.Exchange(ref _maxVersion, entry.Version);
    }

    private sealed class PendingWrite(long id, long version, ReadOnlyMemory<byte> payload)
    {
        public long Id { get; } = id;
        public long Version { get; } = version;
        public ReadOnlyMemory<byte> Payload { get; } = payload;
        public TaskCompletionSource<long> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
