using System.Buffers.Binary;
using System.Runtime.Intrinsics.X86;

namespace Tolerex.Protocol.Storage;

/// <summary>
/// CRC-32C (Castagnoli), the checksum of iSCSI, ext4 and Kafka record batches. System.IO.Hashing 10 has
/// only the IEEE polynomial, so this uses the SSE4.2 instruction where present and a table otherwise.
/// </summary>
public static class Crc32C
{
    private const uint Polynomial = 0x82F63B78; // reflected 0x1EDC6F41
    private static readonly uint[] Table = BuildTable();

    public static uint Compute(ReadOnlySpan<byte> data) => ~Append(0xFFFFFFFF, data);

    private static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        if (Sse42.X64.IsSupported)
        {
            ulong c = crc;
            while (data.Length >= 8)
            {
                c = Sse42.X64.Crc32(c, BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data[8..];
            }

            crc = (uint)c;
        }

        if (Sse42.IsSupported)
        {
            foreach (var b in data)
                crc = Sse42.Crc32(crc, b);
            return crc;
        }

        foreach (var b in data)
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++)
                c = (c & 1) != 0 ? (c >> 1) ^ Polynomial : c >> 1;
            table[i] = c;
        }

        return table;
    }

    /// <summary>The table path, for checking the hardware path against it.</summary>
    internal static uint ComputeSoftware(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFF;
        foreach (var b in data)
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return ~crc;
    }
}
