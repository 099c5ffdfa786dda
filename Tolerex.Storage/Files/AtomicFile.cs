namespace Tolerex.Storage.Files;

/// <summary>
/// Replaces a file so that a crash leaves either the old content or the new one, never a mix: the content
/// goes to a temporary file, which is synced, renamed over the target, and the rename made durable.
/// </summary>
public static class AtomicFile
{
    public const string TemporarySuffix = ".tmp";

    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>, which gets the open temporary file.</summary>
    public static void Write(IStorageFileSystem fs, string path, Action<IStorageFile> write)
    {
        var temporary = path + TemporarySuffix;
        using (var file = fs.Open(temporary))
        {
            file.SetLength(0);
            write(file);
            file.Sync();
        }

        fs.Move(temporary, path);
        fs.SyncDirectory(Path.GetDirectoryName(path) ?? ".");
    }

    /// <summary>Writes <paramref name="content"/> as the whole of <paramref name="path"/>.</summary>
    public static void Write(IStorageFileSystem fs, string path, ReadOnlySpan<byte> content)
    {
        var bytes = content.ToArray();
        Write(fs, path, file => file.Write(bytes, 0));
    }

    /// <summary>Removes a temporary file a crash left behind; the target, if any, is intact.</summary>
    public static void DeleteLeftover(IStorageFileSystem fs, string path)
    {
        if (fs.Exists(path + TemporarySuffix))
            fs.Delete(path + TemporarySuffix);
    }
}
