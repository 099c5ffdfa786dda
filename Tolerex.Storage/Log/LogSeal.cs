using System.Buffers.Binary;
using System.Security.Cryptography;
using Tolerex.Storage.Files;

namespace Tolerex.Storage.Log;

/// <summary>
/// A log's seal: a random 32-bit number in <c>log.seal</c> ("TXSL", the seal, CRC-32C of both), created
/// durably with the log and mixed into every record checksum (see <see cref="RecordFrame"/>).
/// </summary>
public static class LogSeal
{
    public const string FileName = "log.seal";
    private const int Size = 12;

    /// <summary>
    /// Reads the seal, or creates one for a new log (or one written before records were sealed). If the file
    /// is missing or damaged while records exist, the seal is derived from the records themselves
    /// (<paramref name="derive"/>) and written again; if even that fails a new seal is made, the sealed records
    /// then fail their checksums and are reported like any damage: start-up never stops on it.
    /// </summary>
    internal static uint LoadOrCreate(IStorageFileSystem fs, string directory, bool hasRecords, Func<uint?> derive, Action<string> warn)
    {
        var path = Path.Combine(directory, FileName);
        AtomicFile.DeleteLeftover(fs, path);
        if (fs.Exists(path) && TryRead(fs, path, out var seal))
            return seal;
        if (hasRecords && derive() is { } derived)
        {
            warn($"{path} was missing or damaged; recovered the seal from the records and wrote it again");
            seal = derived;
        }
        else
        {
            if (hasRecords)
                warn($"{path} is missing and no sealed records were found (a log from before sealed records, or damage); starting a new seal");
            do
                seal = BinaryPrimitives.ReadUInt32LittleEndian(RandomNumberGenerator.GetBytes(4));
            while (seal == 0);
        }

        Span<byte> data = stackalloc byte[Size];
        "TXSL"u8.CopyTo(data);
        BinaryPrimitives.WriteUInt32LittleEndian(data[4..], seal);
        BinaryPrimitives.WriteUInt32LittleEndian(data[8..], RecordFrame.Checksum(data[..8]));
        AtomicFile.Write(fs, path, data);
        return seal;
    }

    private static bool TryRead(IStorageFileSystem fs, string path, out uint seal)
    {
        seal = 0;
        using var file = fs.Open(path);
        Span<byte> data = stackalloc byte[Size];
        if (file.Length != Size || file.Read(data, 0) != Size || !data[..4].SequenceEqual("TXSL"u8)
            || BinaryPrimitives.ReadUInt32LittleEndian(data[8..]) != RecordFrame.Checksum(data[..8]))
        {
            return false;
        }

        seal = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
        return true;
    }
}
