using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Tolerex.Storage.Files;
using Tolerex.Storage.Log;

namespace Tolerex.Leader.Index;

/// <summary>
/// Reads an index written in the leader's earlier on-disk format, so a data directory from before the shared
/// log engine opens unchanged: <see cref="IndexImport"/> commits it once to the consensus log. Earlier
/// layout ("TI", format 1 or 2, little endian): magic, version, kind, body length (int32), body, CRC-32C of
/// everything before it. Bodies: put = id, version, count (u8), member numbers (int32 each); delete = id,
/// version; member = number, then (format 2) identity length (u8) and identity, then the address;
/// checkpoint = the first log file it does not cover. Files: <c>checkpoint</c>, and <c>NNNNNNNNNN.idx</c>.
/// </summary>
internal static class LegacyIndexFormat
{
    public const string CheckpointName = "checkpoint";
    public const string LogSuffix = ".idx";
    private const byte IdentityVersion = 2;
    private const byte IdentitylessVersion = 1;
    private const byte CheckpointKind = 4;
    private const int HeaderSize = 8;
    private const int TrailerSize = 4;
    private const int MaxBody = 64 * 1024;

    /// <summary>True when <paramref name="directory"/> holds an index in the earlier format.</summary>
    public static bool IsPresent(IStorageFileSystem fs, string directory) =>
        fs.Exists(Path.Combine(directory, CheckpointName)) || fs.List(directory, LogSuffix).Count > 0;

    /// <summary>Every intact record, as a current-format record, in the order it must be applied.</summary>
    public static List<LogRecord> Read(IStorageFileSystem fs, string directory, Action<string> damaged)
    {
        var records = new List<LogRecord>();
        var firstUncovered = 0;
        var checkpoint = Path.Combine(directory, CheckpointName);
        if (fs.Exists(checkpoint))
            Scan(fs, checkpoint, records, n => firstUncovered = n, damaged);
        var numbers = fs.List(directory, LogSuffix)
            .Select(n => int.TryParse(n.AsSpan(0, n.Length - LogSuffix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var x) ? x : -1)
            .Where(n => n >= firstUncovered && n > 0)
            .Order();
        foreach (var number in numbers)
            Scan(fs, LogPath(directory, number), records, null, damaged);
        return records;
    }

    /// <summary>Removes every file of the earlier format, durably.</summary>
    public static void Delete(IStorageFileSystem fs, string directory)
    {
        foreach (var name in fs.List(directory, LogSuffix).Append(CheckpointName).Append(CheckpointName + AtomicFile.TemporarySuffix))
        {
            var path = Path.Combine(directory, name);
            if (fs.Exists(path))
                fs.Delete(path);
        }

        fs.SyncDirectory(directory);
    }

    private static string LogPath(string directory, int number) =>
        Path.Combine(directory, number.ToString("D10", CultureInfo.InvariantCulture) + LogSuffix);

    private static void Scan(IStorageFileSystem fs, string path, List<LogRecord> records, Action<int>? onCheckpoint, Action<string> damaged)
    {
        using var file = fs.Open(path);
        var data = file.ReadAll(path);
        for (var pos = 0; pos < data.Length;)
        {
            if (TryRead(data.AsSpan(pos), out var kind, out var body, out var format, out var size))
            {
                if (kind == CheckpointKind)
                    onCheckpoint?.Invoke(BinaryPrimitives.ReadInt32LittleEndian(body));
                else if (Convert(kind, body, format) is { } record)
                    records.Add(record);
                pos += size;
                continue;
            }

            if (Preallocation.IsZeroTail(data.AsSpan(pos)))
                return;
            var next = FindNext(data, pos + 1);
            damaged($"{path}: damaged record at offset {pos}");
            if (next < 0)
                return;
            pos = next;
        }
    }

    private static LogRecord? Convert(byte kind, ReadOnlySpan<byte> body, byte format)
    {
        switch (kind)
        {
            case IndexRecords.Put when body.Length >= 17 && body.Length == 17 + 4 * body[16]:
                return new LogRecord(IndexRecords.Put, BinaryPrimitives.ReadInt64LittleEndian(body), BinaryPrimitives.ReadInt64LittleEndian(body[8..]),
                    body[17..].ToArray());
            case IndexRecords.Delete when body.Length == 16:
                return IndexRecords.DeleteOf(BinaryPrimitives.ReadInt64LittleEndian(body), BinaryPrimitives.ReadInt64LittleEndian(body[8..]));
            case IndexRecords.Member when format == IdentitylessVersion:
                // Unbound: the first member identity that registers this address will own it.
                return IndexRecords.MemberOf(BinaryPrimitives.ReadInt32LittleEndian(body), Encoding.UTF8.GetString(body[4..]), "");
            case IndexRecords.Member when body.Length >= 5 + body[4]:
                return IndexRecords.MemberOf(BinaryPrimitives.ReadInt32LittleEndian(body), Encoding.UTF8.GetString(body[(5 + body[4])..]),
                    Encoding.UTF8.GetString(body.Slice(5, body[4])));
            default:
                return null;
        }
    }

    private static bool TryRead(ReadOnlySpan<byte> data, out byte kind, out ReadOnlySpan<byte> body, out byte format, out int size)
    {
        kind = format = 0;
        body = default;
        size = 0;
        if (data.Length < HeaderSize + TrailerSize || data[0] != (byte)'T' || data[1] != (byte)'I' || data[2] is not (IdentityVersion or IdentitylessVersion))
            return false;
        var length = BinaryPrimitives.ReadInt32LittleEndian(data[4..]);
        if (length is < 4 or > MaxBody || HeaderSize + length + TrailerSize > data.Length)
            return false;
        if (BinaryPrimitives.ReadUInt32LittleEndian(data[(HeaderSize + length)..]) != RecordFrame.Checksum(data[..(HeaderSize + length)]))
            return false;
        format = data[2];
        kind = data[3];
        body = data.Slice(HeaderSize, length);
        size = HeaderSize + length + TrailerSize;
        return true;
    }

    private static int FindNext(ReadOnlySpan<byte> data, int start)
    {
        for (var pos = start; pos < data.Length; pos++)
        {
            var hit = data[pos..].IndexOf("TI"u8);
            if (hit < 0)
                return -1;
            pos += hit;
            if (TryRead(data[pos..], out _, out _, out _, out _))
                return pos;
        }

        return -1;
    }
}
