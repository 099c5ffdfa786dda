using System.Globalization;

namespace Tolerex.Client.Session;

/// <summary>
/// The client's measurement rows, in the HaToKuSe client CSV column order that the report verb reads.
/// UTF-8 without BOM; every row is flushed, so a killed client leaves complete rows. Thread-safe (the prober
/// writes from its own task).
/// </summary>
internal sealed class CsvLog(TextWriter writer, string clientId)
{
    public const string Header = "Timestamp,ClientID,Operation,Count,Bytes,RTT_us,Mode,Status,PayloadSize";

    private readonly Lock _lock = new();

    /// <summary>Ids go into a comma-separated file unquoted, so they may not contain what would need quoting.</summary>
    public static bool IsValidClientId(string id) => id.Length is > 0 and <= 128 && id.IndexOfAny([',', '"', '\r', '\n']) < 0;

    public void WriteHeader()
    {
        lock (_lock)
        {
            writer.WriteLine(Header);
            writer.Flush();
        }
    }

    public void Row(string operation, long count, long bytes, double rttUs, string mode, bool ok, long payloadSize)
    {
        var line = string.Create(CultureInfo.InvariantCulture,
            $"{DateTimeOffset.Now:o},{clientId},{operation},{count},{bytes},{Math.Round(rttUs):0},{mode},{(ok ? "OK" : "ERROR")},{payloadSize}");
        lock (_lock)
        {
            writer.WriteLine(line);
            writer.Flush();
        }
    }
}
