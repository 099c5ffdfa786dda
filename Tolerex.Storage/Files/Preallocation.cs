namespace Tolerex.Storage.Files;

/// <summary>
/// Keeps zero-filled, synced space ahead of a log's end, so appends overwrite blocks the file already has.
/// An fdatasync after such an overwrite need not commit file-system metadata (file size, new extents): on
/// ext4 that skips a journal commit per group, much of what each sync costs (docs/benchmarks.md). Recovery
/// treats an all-zero tail as the clean end of the log, not as damage.
/// </summary>
public sealed class Preallocation
{
    private static readonly byte[] Zeros = new byte[1024 * 1024];
    private readonly long _chunkBytes;

    private Preallocation(long chunkBytes, long allocated)
    {
        _chunkBytes = chunkBytes;
        Allocated = allocated;
    }

    /// <summary>Space for a log file of which <paramref name="allocated"/> bytes exist; null when preallocating is
    /// off (<paramref name="chunkBytes"/> 0) or pointless (<paramref name="durability"/> os: nothing is synced).</summary>
    public static Preallocation? For(long chunkBytes, Durability durability, long allocated) =>
        chunkBytes > 0 && durability == Durability.Fsync ? new Preallocation(chunkBytes, allocated) : null;

    /// <summary>Bytes of the file that exist (records or zeros); never below the log's logical end.</summary>
    public long Allocated { get; private set; }

    /// <summary>Before writing up to <paramref name="end"/>: when that passes <see cref="Allocated"/>, writes
    /// zeros up to one chunk further (but not past <paramref name="limit"/>, the size at which the file is
    /// sealed) and syncs them, so the size change is made durable once, here.</summary>
    public void Ensure(IStorageFile file, long end, long limit = long.MaxValue)
    {
        if (end <= Allocated)
            return;
        var target = Math.Max(end, Math.Min(Allocated + _chunkBytes, limit));
        for (var at = Allocated; at < target;)
        {
            var n = (int)Math.Min(Zeros.Length, target - at);
            file.Write(Zeros.AsSpan(0, n), at);
            at += n;
        }

        file.Sync();
        Allocated = target;
    }

    /// <summary>Gives the zeroed space beyond <paramref name="end"/> back (sealing a file, clean shutdown), so
    /// files at rest are exactly their records. If a crash loses the trim, recovery reads the zeros as the end.</summary>
    public void Trim(IStorageFile file, long end)
    {
        if (Allocated <= end)
            return;
        file.SetLength(end);
        file.Sync();
        Allocated = end;
    }

    /// <summary><see cref="Trim"/> on close, where a failure costs only tidiness: recovery reads the zeros as the end.</summary>
    public void TrimOnClose(IStorageFile file, long end)
    {
        try
        {
            Trim(file, end);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>True when everything from here on is zero: space this class allocated, not damage.</summary>
    public static bool IsZeroTail(ReadOnlySpan<byte> rest) => rest.IndexOfAnyExcept((byte)0) < 0;
}
