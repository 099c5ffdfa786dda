using System.Buffers.Binary;

namespace Tolerex.Member.Storage;

/// <summary>
/// One self-describing record of the message log (little endian):
/// <code>
/// [0]      format version (1)
/// [1]      kind (1 = value)
/// [2..10)  id          int64
/// [10..18) version     int64
/// [18..22) payload length int32
/// [22..)   payload
/// [..+4)   CRC32C over every byte before it
/// </code>
/// </summary>
internal static class LogRecord
{
    public const byte FormatVersion = 1;
    public const byte KindValue = 1;
    public const int HeaderSize = 22;
    public const int TrailerSize = 4;
    /// <summary>Upper bound on a payload, so a corrupt length field cannot make recovery allocate gigabytes.</summary>
    public const int MaxPayload = 512 * 1024 * 1024;

    public static int SizeOf(int payloadLength) => HeaderSize + payloadLength + TrailerSize;

    public static void Write(Span<byte> destination, long id, long version, ReadOnlySpan<byte> payload)
    {
        destination[0] = FormatVersion;
        destination[1] = KindValue;
        BinaryPrimitives.WriteInt64LittleEndian(destination[2..], id);
        BinaryPrimitives.WriteInt64LittleEndian(destination[10..], version);
        BinaryPrimitives.WriteInt32LittleEndian(destination[18..], payload.Length);
        payload.CopyTo(destination[HeaderSize..]);
        var body = destination[..(HeaderSize + payload.Length)];
        BinaryPrimitives.WriteUInt32LittleEndian(destination[body.Length..], Crc32C.Compute(body));
    }

    /// <summary>Reads a header; false when it cannot start a valid record (unknown format or kind, impossible length).</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> header, out long id, out long version, out int payloadLength)
    {
        id = BinaryPrimitives.ReadInt64LittleEndian(header[2..]);
        version = BinaryPrimitives.ReadInt64LittleEndian(header[10..]);
        payloadLength = BinaryPrimitives.ReadInt32LittleEndian(header[18..]);
        return header[0] == FormatVersion && header[1] == KindValue && payloadLength is >= 0 and <= MaxPayload;
    }

    /// <summary>Checks the CRC of a whole record (header, payload, trailer).</summary>
    public static bool IsIntact(ReadOnlySpan<byte> record)
    {
        var body = record[..^TrailerSize];
        return BinaryPrimitives.ReadUInt32LittleEndian(record[^TrailerSize..]) == Crc32C.Compute(body);
    }
}
