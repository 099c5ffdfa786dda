using System.Buffers.Binary;
using Tolerex.Protocol.Storage;

namespace Tolerex.Member.Storage;

internal enum RecordKind : byte
{
    /// <summary>Never written: a request to the writer (seal the active segment and compact).</summary>
    Control = 0,
    Value = 1,
    Tombstone = 2,
}

/// <summary>
/// One self-describing record of a segment file (little endian):
/// <code>
/// [0..2)   magic "TX"  (lets recovery find the next record after a damaged one)
/// [2]      format version (3)
/// [3]      kind: 1 = value, 2 = tombstone
/// [4..12)  id               int64
/// [12..20) version          int64
/// [20..24) payload length   int32
/// [24..)   payload
/// [..+4)   CRC-32C over every byte before it, XOR the store's seal
/// </code>
/// The seal is a random number kept in the data directory (<see cref="LogSeal"/>), never sent anywhere. A
/// payload can contain the bytes of a whole record; if a crash tears the record around it, recovery looks for
/// the next intact record and would find that image. Without the seal its checksum cannot be right, so a
/// client cannot plant records by storing crafted messages.
/// </summary>
internal static class LogRecord
{
    public const byte FormatVersion = 3;
    /// <summary>Records of format 2 (no seal: the plain CRC-32C) are still read, so an upgraded member keeps its data.</summary>
    public const byte UnsealedFormatVersion = 2;
    public const int HeaderSize = 24;
    public const int TrailerSize = 4;
    /// <summary>Upper bound on a payload, so a corrupt length field cannot make recovery read gigabytes.</summary>
    public const int MaxPayload = 256 * 1024 * 1024;

    public static int SizeOf(int payloadLength) => HeaderSize + payloadLength + TrailerSize;

    public static void Write(Span<byte> destination, uint seal, RecordKind kind, long id, long version, ReadOnlySpan<byte> payload)
    {
        destination[0] = (byte)'T';
        destination[1] = (byte)'X';
        destination[2] = FormatVersion;
        destination[3] = (byte)kind;
        BinaryPrimitives.WriteInt64LittleEndian(destination[4..], id);
        BinaryPrimitives.WriteInt64LittleEndian(destination[12..], version);
        BinaryPrimitives.WriteInt32LittleEndian(destination[20..], payload.Length);
        payload.CopyTo(destination[HeaderSize..]);
        var body = destination[..(HeaderSize + payload.Length)];
        BinaryPrimitives.WriteUInt32LittleEndian(destination[body.Length..], Crc32C.Compute(body) ^ seal);
    }

    /// <summary>A record that starts at the beginning of <paramref name="data"/>, if it is complete and intact.</summary>
    public static bool TryRead(ReadOnlySpan<byte> data, uint seal, out RecordKind kind, out long id, out long version, out int payloadLength)
    {
        kind = default;
        id = version = 0;
        payloadLength = 0;
        if (data.Length < HeaderSize + TrailerSize || data[0] != (byte)'T' || data[1] != (byte)'X' || data[2] is not (FormatVersion or UnsealedFormatVersion))
            return false;
        if (data[2] == UnsealedFormatVersion)
            seal = 0;
        kind = (RecordKind)data[3];
        payloadLength = BinaryPrimitives.ReadInt32LittleEndian(data[20..]);
        if (kind is not (RecordKind.Value or RecordKind.Tombstone) || payloadLength is < 0 or > MaxPayload || SizeOf(payloadLength) > data.Length)
            return false;
        var body = data[..(HeaderSize + payloadLength)];
        if (BinaryPrimitives.ReadUInt32LittleEndian(data[body.Length..]) != (Crc32C.Compute(body) ^ seal))
            return false;
        id = BinaryPrimitives.ReadInt64LittleEndian(data[4..]);
        version = BinaryPrimitives.ReadInt64LittleEndian(data[12..]);
        return true;
    }

    /// <summary>The offset of the next intact record at or after <paramref name="start"/>, or -1.</summary>
    public static int FindNext(ReadOnlySpan<byte> data, uint seal, int start)
    {
        ReadOnlySpan<byte> magic = [(byte)'T', (byte)'X'];
        var pos = start;
        while (pos < data.Length)
        {
            var hit = data[pos..].IndexOf(magic);
            if (hit < 0)
                return -1;
            pos += hit;
            if (TryRead(data[pos..], seal, out _, out _, out _, out _))
                return pos;
            pos++;
        }

        return -1;
    }

    /// <summary>
    /// The seal that makes two consecutive well-formed format-3 records of <paramref name="data"/> intact
    /// (two records agreeing make a chance match practically impossible); null if none are found.
    /// </summary>
    public static uint? DeriveSeal(ReadOnlySpan<byte> data)
    {
        var pos = 0;
        while (pos + HeaderSize + TrailerSize <= data.Length && data[pos] == (byte)'T' && data[pos + 1] == (byte)'X')
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(data[(pos + 20)..]);
            if (length is < 0 or > MaxPayload || pos + SizeOf(length) > data.Length)
                return null;
            if (data[pos + 2] == FormatVersion)
            {
                var body = data.Slice(pos, HeaderSize + length);
                var seal = BinaryPrimitives.ReadUInt32LittleEndian(data[(pos + body.Length)..]) ^ Crc32C.Compute(body);
                return TryRead(data[(pos + SizeOf(length))..], seal, out var kind, out _, out _, out _) ? seal : null;
            }

            pos += SizeOf(length); // an older, unsealed record: the sealed ones come after it
        }

        return null;
    }
}
