using System.Buffers.Binary;
using System.Text;
using Tolerex.Leader.Membership;
using Tolerex.Storage.Log;

namespace Tolerex.Leader.Index;

/// <summary>
/// The leader's index as log records ("TI", see <see cref="RecordFrame"/>):
/// <list type="bullet">
/// <item>put: key = id, version = version, payload = the replicas' member numbers (int32 each, little endian);</item>
/// <item>delete: key = id, version = the delete's version, no payload;</item>
/// <item>member: key = member number, payload = identity length (u8), identity (UTF-8), address (UTF-8);</item>
/// <item>replicas: key = id, version = version, payload = member numbers: the id's copies moved (repair), which
/// counts only while the id is still indexed at exactly that version;</item>
/// <item>decommissioned: key = member number: the member's copies are to be moved off it, and it gets no new ones.</item>
/// <item>floor: version = a version no leader has handed out or will: the leader that committed it numbers
/// writes only below it, and every later leader numbers above it.</item>
/// </list>
/// </summary>
internal static class IndexRecords
{
    public const byte Put = 1;
    public const byte Delete = 2;
    public const byte Member = 3;
    public const byte Replicas = 4;
    public const byte Decommissioned = 5;
    public const byte Floor = 6;

    public static readonly RecordFormat Format = new((byte)'T', (byte)'I');

    public static LogRecord PutOf(long id, long version, MemberNode[] replicas)
    {
        var payload = new byte[4 * replicas.Length];
        for (var i = 0; i < replicas.Length; i++)
            BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(4 * i), replicas[i].Number);
        return new LogRecord(Put, id, version, payload);
    }

    public static LogRecord DeleteOf(long id, long version) => new(Delete, id, version, ReadOnlyMemory<byte>.Empty);

    public static LogRecord ReplicasOf(long id, long version, MemberNode[] replicas) => PutOf(id, version, replicas) with { Kind = Replicas };

    public static LogRecord FloorOf(long version) => new(Floor, 0, version, ReadOnlyMemory<byte>.Empty);

    public static LogRecord DecommissionedOf(int number) => new(Decommissioned, number, 0, ReadOnlyMemory<byte>.Empty);

    public static LogRecord MemberOf(int number, string address, string identity)
    {
        // Identities are at most 64 ASCII characters (PeerIdentity.MaxNameLength), so one byte holds the length.
        var payload = new byte[1 + Encoding.UTF8.GetByteCount(identity) + Encoding.UTF8.GetByteCount(address)];
        payload[0] = (byte)Encoding.UTF8.GetBytes(identity, payload.AsSpan(1));
        Encoding.UTF8.GetBytes(address, payload.AsSpan(1 + payload[0]));
        return new LogRecord(Member, number, 0, payload);
    }

    /// <summary>The member numbers of a put or replicas record.</summary>
    public static int[] MemberNumbersOf(ReadOnlySpan<byte> payload)
    {
        var numbers = new int[payload.Length / 4];
        for (var i = 0; i < numbers.Length; i++)
            numbers[i] = BinaryPrimitives.ReadInt32LittleEndian(payload[(4 * i)..]);
        return numbers;
    }

    /// <summary>The identity and address of a member record; false when the payload is malformed.</summary>
    public static bool TryReadMember(ReadOnlySpan<byte> payload, out string identity, out string address)
    {
        identity = address = "";
        if (payload.Length < 1 || payload.Length < 1 + payload[0])
            return false;
        identity = Encoding.UTF8.GetString(payload.Slice(1, payload[0]));
        address = Encoding.UTF8.GetString(payload[(1 + payload[0])..]);
        return address.Length > 0;
    }
}
