using Tolerex.Leader.Index;
using Tolerex.Storage.Log;

namespace Tolerex.Leader.Consensus;

/// <summary>
/// The payload of one consensus log entry, and of a snapshot: index records (<see cref="IndexRecords"/>) one after
/// another, each framed and checksummed like a log record (<see cref="RecordFrame"/>). The seal is zero: entries
/// and snapshots travel between leader nodes, which share no seal. Their payloads hold only member numbers and the
/// identities and addresses of authenticated members, never client data, so no one can plant a record image in them.
/// </summary>
internal static class JournalEntryFormat
{
    private const uint Seal = 0;

    public static int SizeOf(in LogRecord record) => RecordFrame.SizeOf(record.Payload.Length);

    public static byte[] Encode(IReadOnlyList<JournalAppend> appends)
    {
        var size = 0;
        foreach (var a in appends)
            size += SizeOf(a.Record);
        var payload = new byte[size];
        var offset = 0;
        foreach (var a in appends)
        {
            RecordFrame.Write(payload.AsSpan(offset), IndexRecords.Format, Seal, a.Record);
            offset += SizeOf(a.Record);
        }

        return payload;
    }

    public static void Write(Span<byte> destination, in LogRecord record) => RecordFrame.Write(destination, IndexRecords.Format, Seal, record);

    /// <summary>
    /// The intact records in <paramref name="data"/>, in order. A damaged record is skipped up to the next intact
    /// one, and the bytes skipped are reported through <paramref name="damaged"/>: a flipped bit loses one record.
    /// </summary>
    public static IEnumerable<LogRecord> Read(ReadOnlyMemory<byte> data, Action<int> damaged)
    {
        var offset = 0;
        while (offset < data.Length)
        {
            if (!RecordFrame.TryRead(data[offset..], IndexRecords.Format, Seal, out var record))
            {
                var next = RecordFrame.FindNext(data.Span, IndexRecords.Format, Seal, offset + 1);
                damaged((next < 0 ? data.Length : next) - offset);
                if (next < 0)
                    yield break;
                offset = next;
                continue;
            }

            offset += SizeOf(record);
            yield return record;
        }
    }
}
