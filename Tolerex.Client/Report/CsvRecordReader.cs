using System.Globalization;
using nietras.SeparatedValues;

namespace Tolerex.Client.Report;

/// <summary>One client CSV row: <see cref="Count"/> commands completed with <see cref="RttUs"/> each (for a
/// bulk row, the batch's mean per-command latency).</summary>
internal sealed record CsvRecord(
    string File,
    int Line,
    DateTimeOffset Timestamp,
    string ClientId,
    string Operation,
    long Count,
    long Bytes,
    long RttUs,
    string Mode,
    bool Ok,
    long PayloadSize);

/// <summary>Reads the client CSV format (<see cref="Header"/>), refusing the whole file at its first bad row.</summary>
internal static class CsvRecordReader
{
    public static readonly string[] Header = ["Timestamp", "ClientID", "Operation", "Count", "Bytes", "RTT_us", "Mode", "Status", "PayloadSize"];

    // Sep splits rows and columns and counts lines (CRLF, LF or a lone CR, also inside quotes); fields are read raw
    // and unquoted by Unquote. Blank lines come through as rows of one empty column and are skipped. The header is
    // checked here rather than by Sep, which would throw its own exception for a duplicate column name.
    private static readonly SepReaderOptions Options = Sep.New(',').Reader(o => o with { HasHeader = false, DisableColCountCheck = true });

    public static List<CsvRecord> Read(string path)
    {
        using var text = TextInput.Open(path);
        var records = new List<CsvRecord>();
        // Client, operation and mode repeat on every row; sharing one string each keeps big files small in memory.
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        var next = 1; // where the row after the last one read starts: the line a failed read is reported at
        try
        {
            using var csv = Options.From(text);
            var header = false;
            foreach (var row in csv)
            {
                // Sep 0.17.1 without a header row gives the first row's LineNumberFrom as its LineNumberToExcl; it is line 1.
                var line = row.RowIndex == 0 ? 1 : row.LineNumberFrom;
                next = row.LineNumberToExcl;
                if (row.ColCount == 1 && row.Span.IsEmpty)
                    continue;
                var fields = new string[row.ColCount];
                for (var i = 0; i < fields.Length; i++)
                {
                    fields[i] = Unquote(path, line, row[i].Span);
                    TextInput.CheckDecoded(path, line, fields[i]);
                }

                if (header)
                {
                    records.Add(ParseRow(path, line, fields, names));
                    continue;
                }

                if (fields.Any(f => f.Contains('\0')))
                    throw new ReportInputException(path, line, "looks like UTF-16 without a byte order mark (save it as UTF-8, or UTF-16 with a BOM)");
                if (!fields.SequenceEqual(Header, StringComparer.Ordinal))
                    throw new ReportInputException(path, line, "wrong header " + ReportInputException.Quote(string.Join(',', fields)) + " (expected " + string.Join(',', Header) + ")");
                header = true;
            }

            if (!header)
                throw new ReportInputException(path, 1, "empty file (expected the header " + string.Join(',', Header) + ")");
        }
        catch (NotSupportedException)
        {
            // Sep's limit on the length of one row (16 Mi chars), which in practice only an unclosed quote reaches.
            throw new ReportInputException(path, next, "unterminated quoted field (or a row longer than 16 Mi characters)");
        }
        catch (IOException e)
        {
            throw ReportInputException.FromIo(path, next, e);
        }

        return records;
    }

    /// <summary>A field as RFC 4180 quotes it: optionally in double quotes, with <c>""</c> for a quote inside. Malformed
    /// quoting is refused, because Sep would read it as some other text (<c>"a"b</c> as <c>ab</c>, say).</summary>
    private static string Unquote(string path, int line, ReadOnlySpan<char> raw)
    {
        if (raw.IsEmpty || raw[0] != '"')
            return raw.Contains('"') ? throw new ReportInputException(path, line, "quote inside an unquoted field") : new string(raw);
        for (var i = 1; i < raw.Length; i++)
        {
            if (raw[i] != '"')
                continue;
            if (i + 1 < raw.Length && raw[i + 1] == '"')
            {
                i++;
                continue;
            }

            return i == raw.Length - 1
                ? raw[1..i].ToString().Replace("\"\"", "\"", StringComparison.Ordinal)
                : throw new ReportInputException(path, line, "unexpected character after a closing quote");
        }

        // Sep ends a column only outside quotes, so an unclosed quote runs to the end of the file.
        throw new ReportInputException(path, line, "unterminated quoted field");
    }

    private static CsvRecord ParseRow(string path, int line, string[] f, Dictionary<string, string> names)
    {
        if (f.Length != Header.Length)
            throw new ReportInputException(path, line, FormattableString.Invariant($"expected {Header.Length} fields, found {f.Length}"));
        var timestamp = ParseTimestamp(path, line, f[0]);
        var client = Name(path, line, "ClientID", f[1], names);
        var operation = Name(path, line, "Operation", f[2], names);
        var count = Integer(path, line, "Count", f[3]);
        var bytes = Integer(path, line, "Bytes", f[4]);
        var rtt = Integer(path, line, "RTT_us", f[5]);
        // Mode is shown, not interpreted, so a client with a new mode still gets a report.
        var mode = Name(path, line, "Mode", f[6], names);
        var ok = f[7].Trim() switch
        {
            "OK" => true,
            "ERROR" => false,
            var other => throw new ReportInputException(path, line, "Status " + ReportInputException.Quote(other) + " is neither OK nor ERROR"),
        };
        var payload = Integer(path, line, "PayloadSize", f[8]);
        return new CsvRecord(path, line, timestamp, client, operation, count, bytes, rtt, mode, ok, payload);
    }

    private static string Name(string path, int line, string column, string value, Dictionary<string, string> names)
    {
        value = value.Trim();
        if (value.Length == 0)
            throw new ReportInputException(path, line, column + " is empty");
        if (!names.TryGetValue(value, out var shared))
            names.Add(value, shared = value);
        return shared;
    }

    private static long Integer(string path, int line, string column, string value)
    {
        if (long.TryParse(value, NumberStyles.AllowLeadingWhite | NumberStyles.AllowTrailingWhite, CultureInfo.InvariantCulture, out var n))
            return n;
        throw new ReportInputException(path, line, column + " " + ReportInputException.Quote(value) + " is not a non-negative integer");
    }

    // RFC 3339 allows nine fractional digits (Go writes them); .NET parses at most seven, which is 100 ns anyway.
    private static readonly string[] TimestampFormats = ["yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzzz", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'"];

    internal static bool TryParseTimestamp(string value, out DateTimeOffset timestamp)
    {
        var s = value.Trim();
        // RFC 3339 also allows a lower-case t/z and a space between date and time.
        if (s.Length > 10 && s[10] is 't' or ' ')
            s = string.Concat(s.AsSpan(0, 10), "T", s.AsSpan(11));
        if (s.EndsWith('z'))
            s = s[..^1] + "Z";
        var dot = s.IndexOf('.', Math.Min(s.Length, 19));
        if (dot == 19)
        {
            var end = dot + 1;
            while (end < s.Length && char.IsAsciiDigit(s[end]))
                end++;
            if (end - dot - 1 > 7)
                s = string.Concat(s.AsSpan(0, dot + 8), s.AsSpan(end));
        }

        // AssumeUniversal only applies to the 'Z' form, which carries no offset the parser can see.
        return DateTimeOffset.TryParseExact(s, TimestampFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out timestamp);
    }

    private static DateTimeOffset ParseTimestamp(string path, int line, string value) =>
        TryParseTimestamp(value, out var timestamp)
            ? timestamp
            : throw new ReportInputException(path, line, "Timestamp " + ReportInputException.Quote(value) + " is not an RFC 3339 time with a UTC offset");
}
