namespace Tolerex.Storage.Files;

/// <summary>
/// The file operations a log needs, so tests can swap in a file system that loses everything not yet
/// fsynced at a simulated crash. Paths are ordinary OS paths.
/// </summary>
public interface IStorageFileSystem
{
    /// <summary>Opens a file for reading and writing, creating it if missing.</summary>
    IStorageFile Open(string path);
    bool Exists(string path);
    /// <summary>File names (not paths) in <paramref name="directory"/> ending in <paramref name="suffix"/>.</summary>
    IReadOnlyList<string> List(string directory, string suffix);
    void Delete(string path);
    /// <summary>Atomically renames, replacing any existing target.</summary>
    void Move(string from, string to);
    void CreateDirectory(string path);
    /// <summary>Makes creations, renames and deletions in <paramref name="directory"/> durable (fsync of the directory).</summary>
    void SyncDirectory(string directory);
    /// <summary>
    /// Takes <paramref name="directory"/> for this process until the result is disposed; throws
    /// <see cref="IOException"/> while another holds it, so two nodes never write one data directory.
    /// </summary>
    IDisposable Lock(string directory);
}

/// <summary>A file addressed by offset (positional I/O); safe for concurrent reads alongside one writer.</summary>
public interface IStorageFile : IDisposable
{
    long Length { get; }
    void Write(ReadOnlySpan<byte> data, long offset);
    int Read(Span<byte> buffer, long offset);
    ValueTask<int> ReadAsync(Memory<byte> buffer, long offset, CancellationToken cancellationToken);
    /// <summary>Makes every write so far durable (fdatasync).</summary>
    void Sync();
    void SetLength(long length);
}
