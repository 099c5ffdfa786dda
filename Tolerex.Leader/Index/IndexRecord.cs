using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Tolerex.Protocol.Storage;

namespace Tolerex.Leader.Index;

internal enum IndexRecordKind : byte
{
    /// <summary>id → (version, replica member numbers).</summary>
    Put = 1,
    /// <summary>id deleted at version.</summary>
    Delete = 2,
    /// <summary>member number → address.</summary>
    Member = 3,
    /// <summary>First record of a checkpoint: the first log segment it does not cover.</summary>
    Checkpoint = 4,
}

/// <summary>
/// One record of the leader's index log and checkpoint (little endian):
/// <code>
/// [0..2)  magic "TI"   (lets recovery find the next record after a damaged one)
/// [2]     format version (2: member records carry the member's identity)
/// [3]     kind
/// [4..8)  body length  int32
/// [8..)   body: Put = id i64, version i64, count u8, member numbers i32[count]
///               Delete = id i64, version i64;  Member = number i32, identity length u8, identity UTF-8, address UTF-8;  Checkpoint = segment i32
/// [..+4)  CRC-32C over every byte before it
/// </code>
/// </summary>
internal readonly record struct IndexRecord(IndexRecordKind Kind, long Id = 0, long Version = 0, int[]? Members = null, int Number = 0, string? Address = null, string? Identity = null)
{
    public const byte FormatVersion = 2;
    /// <summary>Format 1 (member records without an identity) is still read, so an upgraded leader keeps its index.</summary>
    private const byte IdentitylessFormatVersion = 1;
    private const int HeaderSize = 8;
    private const int TrailerSize = 4;
    private const int MaxBody = 64 * 1024;

    public void WriteTo(IBufferWriter<byte> writer)
    {
        var bodyLength = Kind switch
        {
            IndexRecordKind.Put => 17 + 4 * Members!.Length,
            IndexRecordKind.Delete => 16,
            IndexRecordKind.Member => 5 + Encoding.UTF8.GetByteCount(Identity ?? "") + Encoding.UTF8.GetByteCount(Address!),
            _ => 4,
        };
        var size = HeaderSize + bodyLength + TrailerSize;
        var span = writer.GetSpan(size)[..size];
        span[0] = (byte)'T';
        span[1] = (byte)'I';
        span[2] = FormatVersion;
        span[3] = (byte)Kind;
        BinaryPrimitives.WriteInt32LittleEndian(span[4..], bodyLength);
        var body = span.Slice(HeaderSize, bodyLength);
        switch (Kind)
        {
            case IndexRecordKind.Put:
                BinaryPrimitives.WriteInt64LittleEndian(body, Id);
                BinaryPrimitives.WriteInt64LittleEndian(body[8..], Version);
                body[16] = (byte)Members!.Length;
                for (var i = 0; i < Members.Length; i++)
                    BinaryPrimitives.WriteInt32LittleEndian(body[(17 + 4 * i)..], Members[i]);
                break;
            case IndexRecordKind.Delete:
                BinaryPrimitives.WriteInt64LittleEndian(body, Id);
                BinaryPrimitives.WriteInt64LittleEndian(body[8..], Version);
                break;
            case IndexRecordKind.Member:
                BinaryPrimitives.WriteInt32LittleEndian(body, Number);
                // Identities are at most 64 ASCII characters (PeerIdentity.MaxNameLength), so one byte holds the length.
                body[4] = (byte)Encoding.UTF8.GetBytes(Identity ?? "", body[5..]);
                Encoding.UTF8.GetBytes(Address!, body[(5 + body[4])..]);
                break;
            default:
                BinaryPrimitives.WriteInt32LittleEndian(body, Number);
                break;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(span[(HeaderSize + bodyLength)..], Crc32C.Compute(span[..(HeaderSize + bodyLength)]));
        writer.Advance(size);
    }

    /// <summary>Reads an intact record at the start of <paramref name="data"/>; <paramref name="size"/> is its length.</summary>
    public static bool TryRead(ReadOnlySpan<byte> data, out IndexRecord record, out int size)
    {
        record = default;
        size = 0;
        if (data.Length < HeaderSize + TrailerSize || data[0] != (byte)'T' || data[1] != (byte)'I' || data[2] is not (FormatVersion or IdentitylessFormatVersion))
            return false;
        var kind = (IndexRecordKind)data[3];
        var bodyLength = BinaryPrimitives.ReadInt32LittleEndian(data[4..]);
        if (bodyLength is < 4 or > MaxBody || HeaderSize + bodyLength + TrailerSize > data.Length)
            return false;
        if (BinaryPrimitives.ReadUInt32LittleEndian(data[(HeaderSize + bodyLength)..]) != Crc32C.Compute(data[..(HeaderSize + bodyLength)]))
            return false;
        var body = data.Slice(HeaderSize, bodyLength);
        size = HeaderSize + bodyLength + TrailerSize;
        switch (kind)
        {
            case IndexRecordKind.Put when bodyLength >= 17 && bodyLength == 17 + 4 * body[16]:
                var members = new int[body[16]];
                for (var i = 0; i < members.Length; i++)
                    members[i] = BinaryPrimitives.ReadInt32LittleEndian(body[(17 + 4 * i)..]);
                record = new IndexRecord(kind, BinaryPrimitives.ReadInt64LittleEndian(body), BinaryPrimitives.ReadInt64LittleEndian(body[8..]), members);
                return true;
            case IndexRecordKind.Delete when bodyLength == 16:
                record = new IndexRecord(kind, BinaryPrimitives.ReadInt64LittleEndian(body), BinaryPrimitives.ReadInt64LittleEndian(body[8..]));
                return true;
            case IndexRecordKind.Member when data[2] == IdentitylessFormatVersion:
                // Unbound: the first member identity that registers this address will own it.
                record = new IndexRecord(kind, Number: BinaryPrimitives.ReadInt32LittleEndian(body), Identity: "", Address: Encoding.UTF8.GetString(body[4..]));
                return true;
            case IndexRecordKind.Member when bodyLength >= 5 + body[4]:
                record = new IndexRecord(kind, Number: BinaryPrimitives.ReadInt32LittleEndian(body),
                    Identity: Encoding.UTF8.GetString(body.Slice(5, body[4])), Address: Encoding.UTF8.GetString(body[(5 + body[4])..]));
                return true;
            case IndexRecordKind.Checkpoint when bodyLength == 4:
                record = new IndexRecord(kind, Number: BinaryPrimitives.ReadInt32LittleEndian(body));
                return true;
            default:
                return false;
        }
    }

    /// <summary>The offset of the next intact record at or after <paramref name="start"/>, or -1.</summary>
    public static int FindNext(ReadOnlySpan<byte> data, int start)
    {
        ReadOnlySpan<byte> magic = [(byte)'T', (byte)'I'];
        for (var pos = start; pos < data.Length; pos++)
        {
            var hit = data[pos..].IndexOf(magic);
            if (hit < 0)
                return -1;
            pos += hit;
            if (TryRead(data[pos..], out _, out _))
                return pos;
        }

        return -1;
    }
}
