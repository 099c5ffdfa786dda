namespace Tolerex.Storage.Files;

public static class StorageFileExtensions
{
    /// <summary>
    /// The whole file in a fresh array (not pooled: a pool would keep a segment-sized buffer alive forever).
    /// Used by recovery and compaction, which scan files from start to end.
    /// </summary>
    public static byte[] ReadAll(this IStorageFile file, string path)
    {
        var length = file.Length;
        if (length > Array.MaxLength)
            throw new IOException($"{path} is too large to scan ({length} bytes)");
        var data = new byte[length];
        for (var read = 0; read < data.Length;)
        {
            var n = file.Read(data.AsSpan(read), read);
            if (n == 0)
                return data[..read];
            read += n;
        }

        return data;
    }
}
