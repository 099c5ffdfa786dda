using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Tolerex.Storage.Files;

/// <summary>The real file system: <see cref="SafeFileHandle"/> with <see cref="RandomAccess"/>.</summary>
public sealed partial class PhysicalFileSystem : IStorageFileSystem
{
    public static readonly PhysicalFileSystem Instance = new();

    public IStorageFile Open(string path) =>
        new PhysicalFile(File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete));

    public bool Exists(string path) => File.Exists(path);

    public IReadOnlyList<string> List(string directory, string suffix) =>
        [.. Directory.EnumerateFiles(directory, "*" + suffix).Select(Path.GetFileName).OfType<string>().Where(n => n.EndsWith(suffix, StringComparison.Ordinal))];

    public void Delete(string path) => File.Delete(path);

    public void Move(string from, string to) => File.Move(from, to, overwrite: true);

    public void CreateDirectory(string path) => Directory.CreateDirectory(path);

    public IDisposable Lock(string directory)
    {
        var path = Path.Combine(directory, LockFileName);
        try
        {
            // FileShare.None takes an exclusive advisory lock (flock) on Unix; the kernel drops it when the process dies.
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new IOException($"{directory} is in use by another process ({path} is locked)", e);
        }
    }

    public const string LockFileName = "lock";

    public void SyncDirectory(string directory)
    {
        // .NET cannot open a directory as a file, and Windows makes directory entries durable by itself.
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
            return;
        var fd = open(directory, 0 /* O_RDONLY */);
        if (fd < 0)
            throw new IOException($"cannot open directory {directory} to fsync it (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (fsync(fd) != 0)
                throw new IOException($"fsync of directory {directory} failed (errno {Marshal.GetLastPInvokeError()})");
        }
        finally
        {
            _ = close(fd);
        }
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fsync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fdatasync(nint fd);

    private sealed class PhysicalFile(SafeFileHandle handle) : IStorageFile
    {
        public long Length => RandomAccess.GetLength(handle);
        public void Write(ReadOnlySpan<byte> data, long offset) => RandomAccess.Write(handle, data, offset);
        public int Read(Span<byte> buffer, long offset) => RandomAccess.Read(handle, buffer, offset);
        public ValueTask<int> ReadAsync(Memory<byte> buffer, long offset, CancellationToken cancellationToken) =>
            RandomAccess.ReadAsync(handle, buffer, offset, cancellationToken);
        public void Sync()
        {
            // fdatasync: file data (and the size, when it grew), without the timestamps fsync would also commit.
            if (!OperatingSystem.IsLinux())
            {
                RandomAccess.FlushToDisk(handle);
                return;
            }

            var added = false;
            try
            {
                handle.DangerousAddRef(ref added);
                if (fdatasync(handle.DangerousGetHandle()) != 0)
                    throw new IOException($"fdatasync failed (errno {Marshal.GetLastPInvokeError()})");
            }
            finally
            {
                if (added)
                    handle.DangerousRelease();
            }
        }
        public void SetLength(long length) => RandomAccess.SetLength(handle, length);
        public void Dispose() => handle.Dispose();
    }
}
