using System.Buffers.Binary;
using System.IO.Hashing;

namespace Tolerex.Storage.Log;

/// <summary>
/// How a record is laid out on disk (little endian):
/// <code>
/// [0..2)   magic            (per log; see RecordFormat)
/// [2]      format version   (3)
/// [3]      kind
/// [4..12)  key              int64
/// [12..20) version          int64
/// [20..24) payload length   int32
/// [24..)   payload
/// [..+4)   CRC-32C over every byte before it, XOR the log's seal
/// </code>
/// The seal is a random number kept beside the log (<see cref="LogSeal"/>) and never sent anywhere. A payload
/// can contain the bytes of a whole record; if a crash tears the record around it, recovery looks for the next
/// intact record and would find that image. Without the seal its checksum cannot be right, so nobody can plant
/// records by storing crafted payloads.
/// </summary>
public static class RecordFrame
{
    public const int HeaderSize = 24;
    public const int TrailerSize = 4;
    /// <summary>Upper bound on a payload, so a corrupt length field cannot make recovery read gigabytes.</summary>
    public const int MaxPayload = 256 * 1024 * 1024;

    public static int SizeOf(int payloadLength) => HeaderSize + payloadLength + TrailerSize;

    public static uint Checksum(ReadOnlySpan<byte> data) => Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, data);

    public static void Write(Span<byte> destination, RecordFormat format, uint seal, in LogRecord record)
    {
        var payload = record.Payload.Span;
        destination[0] = format.Magic0;
        destination[1] = format.Magic1;
        destination[2] = RecordFormat.CurrentVersion;
        destination[3] = record.Kind;
        BinaryPrimitives.WriteInt64LittleEndian(destination[4..], record.Key);
        BinaryPrimitives.WriteInt64LittleEndian(destination[12..], record.Version);
        BinaryPrimitives.WriteInt32LittleEndian(destination[20..], payload.Length);
        payload.CopyTo(destination[HeaderSize..]);
        var body = destination[..(HeaderSize + payload.Length)];
        BinaryPrimitives.WriteUInt32LittleEndian(destination[body.Length..], Checksum(body) ^ seal);
    }

    /// <summary>
    /// The record at the start of <paramref name="data"/> if it is complete and intact; its payload is a slice
    /// of <paramref name="data"/>.
    /// </summary>
    public static bool TryRead(ReadOnlyMemory<byte> data, RecordFormat format, uint seal, out LogRecord record)
    {
        record = default;
        if (!TryReadHeader(data.Span, format, seal, out var kind, out var payloadLength))
            return false;
        var span = data.Span;
        record = new LogRecord(kind, BinaryPrimitives.ReadInt64LittleEndian(span[4..]), BinaryPrimitives.ReadInt64LittleEndian(span[12..]),
            data.Slice(HeaderSize, payloadLength));
        return true;
    }

    private static bool TryReadHeader(ReadOnlySpan<byte> data, RecordFormat format, uint seal, out byte kind, out int payloadLength)
    {
        kind = 0;
        payloadLength = 0;
        if (data.Length < HeaderSize + TrailerSize || data[0] != format.Magic0 || data[1] != format.Magic1 || !format.Accepts(data[2]))
            return false;
        if (data[2] == format.UnsealedVersion)
            seal = 0;
        kind = data[3];
        payloadLength = BinaryPrimitives.ReadInt32LittleEndian(data[20..]);
        if (payloadLength is < 0 or > MaxPayload || SizeOf(payloadLength) > data.Length)
            return false;
        var body = data[..(HeaderSize + payloadLength)];
        return BinaryPrimitives.ReadUInt32LittleEndian(data[body.Length..]) == (Checksum(body) ^ seal);
    }

    /// <summary>The offset of the next intact record at or after <paramref name="start"/>, or -1.</summary>
    public static int FindNext(ReadOnlySpan<byte> data, RecordFormat format, uint seal, int start)
    {
        ReadOnlySpan<byte> magic = [format.Magic0, format.Magic1];
        var pos = start;
        while (pos < data.Length)
        {
            var hit = data[pos..].IndexOf(magic);
            if (hit < 0)
                return -1;
            pos += hit;
            if (TryReadHeader(data[pos..], format, seal, out _, out _))
                return pos;
            pos++;
        }

        return -1;
    }

    /// <summary>
    /// The seal that makes two consecutive well-formed sealed records at the start of <paramref name="data"/>
    /// intact (two records agreeing make a chance match practically impossible); null if there are none.
    /// </summary>
    public static uint? DeriveSeal(ReadOnlySpan<byte> data, RecordFormat format)
    {
        var pos = 0;
        while (pos + HeaderSize + TrailerSize <= data.Length && data[pos] == format.Magic0 && data[pos + 1] == format.Magic1)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(data[(pos + 20)..]);
            if (length is < 0 or > MaxPayload || pos + SizeOf(length) > data.Length)
                return null;
            if (data[pos + 2] == RecordFormat.CurrentVersion)
            {
                var body = data.Slice(pos, HeaderSize + length);
                var seal = BinaryPrimitives.ReadUInt32LittleEndian(data[(pos + body.Length)..]) ^ Checksum(body);
                return TryReadHeader(data[(pos + SizeOf(length))..], format, seal, out _, out _) ? seal : null;
            }

            pos += SizeOf(length); // an older, unsealed record: the sealed ones come after it
        }

        return null;
    }
}
