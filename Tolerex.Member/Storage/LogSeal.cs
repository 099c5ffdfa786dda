using System.Buffers.Binary;
using System.Security.Cryptography;
using Tolerex.Protocol.Storage;

namespace Tolerex.Member.Storage;

/// <summary>
/// The store's seal: a random 32-bit number in <c>log.seal</c> ("TXSL", the seal, CRC-32C of both), created
/// durably with the store and mixed into every record checksum (see <see cref="LogRecord"/>).
/// </summary>
internal static class LogSeal
{
    public const string FileName = "log.seal";
    private const int Size = 12;

    /// <summary>
    /// Reads the seal, or creates one for a new store (or one upgraded from format 2, which had none). If the
    /// file is missing or damaged while sealed records exist, the seal is derived from the records themselves
    /// (<paramref name="derive"/>) and written again; if even that fails a new seal is made, the sealed
    /// records then fail their checksums and are reported like any damage — start-up never stops on it.
    /// </summary>
    public static uint LoadOrCreate(IStorageFileSystem fs, string directory, bool hasSegments, Func<uint?> derive, Action<string> warn)
    {
        var path = Path.Combine(directory, FileName);
        if (fs.Exists(path) && TryRead(fs, path, out var seal))
            return seal;
        if (hasSegments && derive() is { } derived)
        {
            warn($"{path} was missing or damaged; recovered the seal from the records and wrote it again");
            seal = derived;
        }
        else
        {
            if (hasSegments)
                warn($"{path} is missing and no sealed records were found (a store from before format 3, or damage); starting a new seal");
            do
                seal = BinaryPrimitives.ReadUInt32LittleEndian(RandomNumberGenerator.GetBytes(4));
            while (seal == 0);
        }

        Write(fs, directory, path, seal);
        return seal;
    }

    private static bool TryRead(IStorageFileSystem fs, string path, out uint seal)
    {
        seal = 0;
        using var file = fs.Open(path);
        Span<byte> data = stackalloc byte[Size];
        if (file.Length != Size || file.Read(data, 0) != Size || !data[..4].SequenceEqual("TXSL"u8)
            || BinaryPrimitives.ReadUInt32LittleEndian(data[8..]) != Crc32C.Compute(data[..8]))
            return false;
        seal = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
        return true;
    }

    private static void Write(IStorageFileSystem fs, string directory, string path, uint seal)
    {
        Span<byte> data = stackalloc byte[Size];
        "TXSL"u8.CopyTo(data);
        BinaryPrimitives.WriteUInt32LittleEndian(data[4..], seal);
        BinaryPrimitives.WriteUInt32LittleEndian(data[8..], Crc32C.Compute(data[..8]));
        var temp = path + ".tmp";
        using (var file = fs.Open(temp))
        {
            file.SetLength(0);
            file.Write(data, 0);
            file.Sync();
        }

        fs.Move(temp, path);
        fs.SyncDirectory(directory);
    }
}
