using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Tolerex.Testing;

/// <summary>Input files for the client's <c>report</c> verb, and a way to read the cells of the page it writes.</summary>
public static partial class ReportSamples
{
    public const string Header = "Timestamp,ClientID,Operation,Count,Bytes,RTT_us,Mode,Status,PayloadSize";

    /// <summary>
    /// alpha's SET: 1 command at 1000 us and a bulk of 3 at 3000 us each, plus a failed row. The weighted mean is
    /// (1000·1 + 3000·3) / 4 = 2500; summing RTT per row and dividing by the Count sum would give 1000.
    /// </summary>
    public static readonly string[] AlphaRows =
    [
        "2026-01-17T11:46:08.5984134+03:00,alpha,SET,1,100,1000,unbuffered,OK,100",
        "2026-01-17T11:46:08.7000000+03:00,alpha,SET,3,300,3000,buffered,OK,100",
        "2026-01-17T11:46:09.1000000+03:00,alpha,SET,0,0,9000,unbuffered,ERROR,100",
        "2026-01-17T11:46:09.2000000+03:00,alpha,GET,2,200,500,unbuffered,OK,100",
    ];

    public static readonly string[] BetaRows =
    [
        "2026-01-17T08:46:08.9Z,beta,GET,5,500,700,buffered,OK,100",
        "2026-01-17T08:46:10.123456789Z,beta,GET,1,100,1500,unbuffered,OK,100",
        "2026-01-17T08:46:10.5Z,beta,GET,3,0,0,buffered,ERROR,100", // a bulk's row for its 3 unacknowledged commands
    ];

    /// <summary>A client CSV file: the header, then <paramref name="rows"/>, CRLF line ends.</summary>
    public static string WriteCsv(DirectoryInfo directory, string name, Encoding encoding, string[] rows)
    {
        var path = Path.Combine(directory.FullName, name);
        File.WriteAllText(path, string.Join("\r\n", [Header, .. rows]) + "\r\n", encoding);
        return path;
    }

    /// <summary>A tolerex and a redis result as the bench prints them, plus a field this reader does not know and a blank line.</summary>
    public static string WriteBench(DirectoryInfo directory)
    {
        var path = Path.Combine(directory.FullName, "b.jsonl");
        File.WriteAllLines(path, [
            """{"target":"tolerex","connections":50,"payloadBytes":100,"requests":1023018,"errors":0,"elapsedSeconds":60.0017,"opsPerSecond":17049.8,"p50Us":2504.3,"p95Us":6873.1,"p99Us":12011.6,"p999Us":21437.9,"pipeline":1,"label":"sample"}""",
            "",
            """{"target":"redis","connections":50,"payloadBytes":100,"requests":3187355,"errors":0,"elapsedSeconds":60.0004,"opsPerSecond":53122.2,"p50Us":901.7,"p95Us":1493.2,"p99Us":2204.5,"p999Us":3871.0}""",
        ]);
        return path;
    }

    /// <summary>The text of every table row's cells.</summary>
    public static List<string[]> TableRows(string html) =>
        TableRow().Matches(html)
            .Select(row => TableCell().Matches(row.Groups[1].Value).Select(cell => Text(cell.Groups[1].Value)).ToArray())
            .Where(cells => cells.Length > 0)
            .ToList();

    /// <summary>The text of an HTML fragment, tags removed and entities decoded.</summary>
    public static string Text(string html) => WebUtility.HtmlDecode(Tag().Replace(html, " ")).Trim();

    [GeneratedRegex("<tr>(.*?)</tr>", RegexOptions.Singleline)]
    private static partial Regex TableRow();

    [GeneratedRegex("<td[^>]*>(.*?)</td>", RegexOptions.Singleline)]
    private static partial Regex TableCell();

    [GeneratedRegex("<[^>]+>")]
    private static partial Regex Tag();
}
