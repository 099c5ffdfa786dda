using System.CommandLine;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Tolerex.Client.Report;

namespace Tolerex.Tests.Unit.Client;

/// <summary>The <c>report</c> verb, driven the way a user drives it: files in, a page (or one error line) out.</summary>
public sealed class ReportTests : IDisposable
{
    private const string Header = ReportSamples.Header;

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("tolerex-report-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void Utf16le_and_utf8_files_give_per_operation_tables_with_counts_errors_and_the_weighted_mean()
    {
        var alpha = WriteCsv("alpha.csv", new UnicodeEncoding(bigEndian: false, byteOrderMark: true), ReportSamples.AlphaRows);
        var beta = WriteCsv("beta.csv", new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), ReportSamples.BetaRows);
        var output = Path.Combine(_dir.FullName, "out.html");

        var (exit, stdout, stderr) = Report(alpha, beta, "--output", output);

        Assert.Equal(0, exit);
        Assert.Equal("", stderr);
        Assert.Equal($"report: 7 rows, 0 bench results -> {output}", stdout.TrimEnd());
        var html = File.ReadAllText(output);
        //                      operation, mode, rows, commands, errors, bytes, mean, min, p50, p99, max
        Assert.Equal(["SET", "buffered, unbuffered", "3", "4", "1", "400", "2,500", "1,000", "3,000", "3,000", "3,000"], ClientRow(html, "alpha", "SET"));
        Assert.Equal(["GET", "unbuffered", "1", "2", "0", "200", "500", "500", "500", "500", "500"], ClientRow(html, "alpha", "GET"));
        Assert.Equal(["all operations", "", "4", "6", "1", "600", "1,833.3", "500", "1,000", "3,000", "3,000"], ClientRow(html, "alpha", "all operations"));
        // 5 commands at 700 and 1 at 1500: mean 833.3; the ERROR row adds its Count of errors, not a latency.
        Assert.Equal(["GET", "buffered, unbuffered", "3", "6", "3", "600", "833.3", "700", "700", "1,500", "1,500"], ClientRow(html, "beta", "GET"));
        Assert.Contains("Tolerex performance report", html);
        Assert.Contains(WebUtility.HtmlEncode(alpha), html);
        Assert.Contains(WebUtility.HtmlEncode(beta), html);
    }

    [Theory]
    [InlineData("utf-8")]
    [InlineData("utf-8-bom")]
    [InlineData("utf-16le-bom")]
    [InlineData("utf-16be-bom")]
    public void Every_supported_encoding_reads_the_same(string encoding)
    {
        Encoding e = encoding switch
        {
            "utf-8" => new UTF8Encoding(false),
            "utf-8-bom" => new UTF8Encoding(true),
            "utf-16le-bom" => new UnicodeEncoding(bigEndian: false, byteOrderMark: true),
            _ => new UnicodeEncoding(bigEndian: true, byteOrderMark: true),
        };
        var csv = WriteCsv("alpha.csv", e, ReportSamples.AlphaRows);
        var output = Path.Combine(_dir.FullName, "out.html");

        Assert.Equal(0, Report(csv, "-o", output).Exit);
        Assert.Equal(["SET", "buffered, unbuffered", "3", "4", "1", "400", "2,500", "1,000", "3,000", "3,000", "3,000"], ClientRow(File.ReadAllText(output), "alpha", "SET"));
    }

    [Fact]
    public void Percentiles_weight_each_row_by_its_count()
    {
        var rows = new List<string> { "2026-01-17T11:46:08+03:00,c,SET,1,1,100,unbuffered,OK,1", "2026-01-17T11:46:08+03:00,c,SET,98,98,200,buffered,OK,1" };
        rows.Add("2026-01-17T11:46:09+03:00,c,SET,1,1,5000,unbuffered,OK,1");
        var output = Path.Combine(_dir.FullName, "out.html");

        Assert.Equal(0, Report(WriteCsv("c.csv", new UTF8Encoding(false), [.. rows]), "-o", output).Exit);

        // 100 commands: the 50th and 99th are among the 98 at 200 us; only the 100th took 5000 us.
        Assert.Equal(["SET", "buffered, unbuffered", "3", "100", "0", "100", "247", "100", "200", "200", "5,000"], ClientRow(File.ReadAllText(output), "c", "SET"));
    }

    [Theory]
    [InlineData("Timestamp,ClientID,Operation,Count,Bytes,RTT_us,Mode,Status", 1, "wrong header")]
    [InlineData(Header + "\n2026-01-17T11:46:08+03:00,a,SET,1,1,1,buffered,OK", 2, "expected 9 fields, found 8")]
    [InlineData(Header + "\n2026-01-17T11:46:08,a,SET,1,1,1,buffered,OK,1", 2, "is not an RFC 3339 time with a UTC offset")]
    [InlineData(Header + "\n2026-01-17T11:46:08+03:00,a,SET,-1,1,1,buffered,OK,1", 2, "Count \"-1\" is not a non-negative integer")]
    [InlineData(Header + "\n2026-01-17T11:46:08+03:00,a,SET,1,1,1,buffered,FAILED,1", 2, "Status \"FAILED\" is neither OK nor ERROR")]
    [InlineData(Header + "\n\n2026-01-17T11:46:08+03:00,a,\"SET,1,1,1,buffered,OK,1", 3, "unterminated quoted field")]
    [InlineData(Header + "\r\n\r\n2026-01-17T11:46:08+03:00,a\"b,SET,1,1,1,buffered,OK,1", 3, "quote inside an unquoted field")]
    [InlineData(Header + "\n2026-01-17T11:46:08+03:00,\"a\"b,SET,1,1,1,buffered,OK,1", 2, "unexpected character after a closing quote")]
    [InlineData(Header + "\r2026-01-17T11:46:08+03:00,\"a\r\nb\",SET,1,1,1,buffered,OK,1\r\r2026-01-17T11:46:08+03:00,a,SET,1,1,1,buffered,OK", 5, "expected 9 fields, found 8")]
    [InlineData("", 1, "empty file")]
    [InlineData("\n\n", 1, "empty file")]
    public void Bad_csv_input_is_one_error_line_with_its_location(string content, int line, string what)
    {
        var csv = Path.Combine(_dir.FullName, "in.csv");
        File.WriteAllText(csv, content);
        var output = Path.Combine(_dir.FullName, "out.html");

        var (exit, stdout, stderr) = Report(csv, "-o", output);

        Assert.Equal(1, exit);
        Assert.Equal("", stdout);
        Assert.StartsWith($"ERROR: {csv}:{line}: ", stderr);
        Assert.Contains(what, stderr);
        Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void An_unclosed_quote_in_a_large_file_is_an_error_at_its_row()
    {
        var csv = Path.Combine(_dir.FullName, "in.csv");
        File.WriteAllText(csv, Header + "\n\"2026-01-17T11:46:08+03:00,a,SET,1,1,1,buffered,OK,1\n" + string.Concat(Enumerable.Repeat(ReportSamples.AlphaRows[0] + "\n", 250_000)));
        var output = Path.Combine(_dir.FullName, "out.html");

        var (exit, stdout, stderr) = Trimmed(Report(csv, "-o", output));

        Assert.Equal((1, ""), (exit, stdout));
        Assert.StartsWith($"ERROR: {csv}:2: unterminated quoted field", stderr);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void A_file_in_another_encoding_is_refused()
    {
        var noBom = Path.Combine(_dir.FullName, "utf16.csv");
        File.WriteAllText(noBom, Header + "\r\n" + ReportSamples.AlphaRows[0] + "\r\n", new UnicodeEncoding(bigEndian: false, byteOrderMark: false));
        Assert.Equal((1, "", $"ERROR: {noBom}:1: looks like UTF-16 without a byte order mark (save it as UTF-8, or UTF-16 with a BOM)"), Trimmed(Report(noBom)));

        var latin1 = Path.Combine(_dir.FullName, "latin1.csv");
        File.WriteAllBytes(latin1, Encoding.Latin1.GetBytes(Header + "\n" + ReportSamples.AlphaRows[0].Replace("alpha", "caf\u00e9") + "\n"));
        Assert.Equal((1, "", $"ERROR: {latin1}:2: not valid UTF-8 (and no UTF-16 byte order mark)"), Trimmed(Report(latin1)));
    }

    [Fact]
    public void Missing_files_and_empty_inputs_are_errors()
    {
        var missing = Path.Combine(_dir.FullName, "nope.csv");
        Assert.Equal((1, "", $"ERROR: {missing}:0: file not found"), Trimmed(Report(missing)));
        Assert.Equal((1, "", "ERROR: no rows to report"), Trimmed(Report()));
        var headerOnly = WriteCsv("empty.csv", new UTF8Encoding(false), []);
        Assert.Equal((1, "", "ERROR: no rows to report"), Trimmed(Report(headerOnly, "-o", Path.Combine(_dir.FullName, "out.html"))));
        Assert.False(File.Exists(Path.Combine(_dir.FullName, "out.html")));
    }

    [Fact]
    public void An_unwritable_output_is_an_error_and_leaves_nothing_behind()
    {
        var csv = WriteCsv("a.csv", new UTF8Encoding(false), ReportSamples.AlphaRows);
        var output = Path.Combine(_dir.FullName, "no-such-dir", "out.html");

        Assert.Equal((1, "", $"ERROR: {output}:0: cannot write: directory not found"), Trimmed(Report(csv, "-o", output)));
        Assert.Equal(["a.csv"], _dir.GetFiles().Select(f => f.Name));
    }

    [Fact]
    public void Rfc4180_quoted_fields_are_read()
    {
        var csv = WriteCsv("q.csv", new UTF8Encoding(false),
            ["\"2026-01-17T11:46:08+03:00\",\"c,1 \"\"x\"\"\",\"SET\",\"2\",\"20\",\"1000\",\"buffered\",\"OK\",\"10\""]);
        var output = Path.Combine(_dir.FullName, "out.html");

        Assert.Equal(0, Report(csv, "-o", output).Exit);
        Assert.Equal(["SET", "buffered", "1", "2", "0", "20", "1,000", "1,000", "1,000", "1,000", "1,000"], ClientRow(File.ReadAllText(output), "c,1 \"x\"", "SET"));
    }

    [Theory]
    [InlineData("2026-01-17T11:46:08.5984134+03:00", "2026-01-17T08:46:08.5984134+00:00")]
    [InlineData("2026-01-17T08:46:08.123456789Z", "2026-01-17T08:46:08.1234567+00:00")]
    [InlineData("2026-01-17t08:46:08z", "2026-01-17T08:46:08.0000000+00:00")]
    [InlineData("2026-01-17 11:46:08-01:30", "2026-01-17T13:16:08.0000000+00:00")]
    public void Rfc3339_timestamps_parse(string text, string utc)
    {
        Assert.True(CsvRecordReader.TryParseTimestamp(text, out var timestamp));
        Assert.Equal(utc, timestamp.ToUniversalTime().ToString("o"));
    }

    [Fact]
    public void The_page_is_self_contained()
    {
        var output = Path.Combine(_dir.FullName, "out.html");
        Assert.Equal(0, Report(WriteCsv("a.csv", new UTF8Encoding(false), ReportSamples.AlphaRows), WriteBench(), "-o", output).Exit);

        var html = File.ReadAllText(output);
        Assert.DoesNotContain("src=", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("url(", html, StringComparison.OrdinalIgnoreCase);
        // The only URL is the SVG namespace, which names rather than fetches.
        Assert.All(Regex.Matches(html, "https?://[^\"]*").Select(m => m.Value), url => Assert.Equal("http://www.w3.org/2000/svg", url));
        Assert.Equal(2, Regex.Count(html, "<svg "));
        Assert.Contains("<polyline", html);
        Assert.Contains("<rect", html);
    }

    [Fact]
    public void Input_text_is_html_encoded()
    {
        var csv = WriteCsv("x.csv", new UTF8Encoding(false),
            ["2026-01-17T11:46:08+03:00,<script>alert(1)</script>,a&b<i>,1,1,100,<b>mode</b>,OK,1"]);
        var bench = Path.Combine(_dir.FullName, "b.jsonl");
        File.WriteAllText(bench, """{"target":"<img onerror=x>","connections":1,"payloadBytes":1,"requests":1,"errors":0,"elapsedSeconds":1,"opsPerSecond":1,"p50Us":1,"p95Us":1,"p99Us":1,"p999Us":1}""" + "\n");
        var output = Path.Combine(_dir.FullName, "out.html");

        Assert.Equal(0, Report(csv, bench, "-o", output).Exit);

        var html = File.ReadAllText(output);
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("<img", html);
        Assert.DoesNotContain("<b>", html);
        Assert.DoesNotContain("<i>", html);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html);
        Assert.Contains("a&amp;b&lt;i&gt;", html);
        Assert.Contains("&lt;img onerror=x&gt;", html);
    }

    [Fact]
    public void Bench_results_are_shown_side_by_side_with_the_tolerex_redis_ratio()
    {
        var bench = WriteBench();
        var output = Path.Combine(_dir.FullName, "out.html");

        var (exit, stdout, _) = Report(bench, "-o", output);

        Assert.Equal(0, exit);
        Assert.Equal($"report: 0 rows, 2 bench results -> {output}", stdout.TrimEnd());
        var rows = TableRows(File.ReadAllText(output));
        Assert.Contains(["tolerex", "50", "100", "1,023,018", "0", "17,050", "2,504", "6,873", "12,012", "21,438", "b.jsonl:1"], rows);
        Assert.Contains(["redis", "50", "100", "3,187,355", "0", "53,122", "902", "1,493", "2,205", "3,871", "b.jsonl:3"], rows);
        Assert.Contains(["50", "100", "17,050", "53,122", "0.32"], rows);
    }

    [Fact]
    public void A_bench_line_missing_a_field_is_an_error_at_its_line()
    {
        var bench = Path.Combine(_dir.FullName, "b.jsonl");
        File.WriteAllLines(bench, [
            """{"target":"tolerex","connections":50,"payloadBytes":100,"requests":1,"errors":0,"elapsedSeconds":1,"opsPerSecond":1,"p50Us":1,"p95Us":1,"p99Us":1,"p999Us":1}""",
            """{"target":"redis","connections":50,"payloadBytes":100,"requests":1,"errors":0,"elapsedSeconds":1,"opsPerSecond":1,"p50Us":1,"p95Us":1,"p999Us":1}""",
        ]);

        var (exit, _, stderr) = Report(bench, "-o", Path.Combine(_dir.FullName, "out.html"));

        Assert.Equal(1, exit);
        Assert.StartsWith($"ERROR: {bench}:2: not a bench result: ", stderr);
        Assert.Contains("p99Us", stderr);
        Assert.False(File.Exists(Path.Combine(_dir.FullName, "out.html")));
    }

    [Fact]
    public void A_directory_means_its_csv_and_json_files()
    {
        var data = _dir.CreateSubdirectory("data");
        File.WriteAllLines(Path.Combine(data.FullName, "a.csv"), [Header, .. ReportSamples.AlphaRows]);
        File.WriteAllLines(Path.Combine(data.FullName, "b.CSV"), [Header, .. ReportSamples.BetaRows]);
        File.Copy(WriteBench(), Path.Combine(data.FullName, "bench.jsonl"));
        File.WriteAllText(Path.Combine(data.FullName, "notes.txt"), "not an input");
        var output = Path.Combine(_dir.FullName, "out.html");

        var (exit, stdout, stderr) = Report(data.FullName, "-o", output);

        Assert.Equal("", stderr);
        Assert.Equal(0, exit);
        Assert.Equal($"report: 7 rows, 2 bench results -> {output}", stdout.TrimEnd());
    }

    [Fact]
    public void Throughput_sums_the_count_of_ok_rows_per_second()
    {
        var csv = WriteCsv("t.csv", new UTF8Encoding(false),
        [
            "2026-01-17T11:46:08.1+03:00,a,SET,5,5,100,buffered,OK,1",
            "2026-01-17T11:46:08.9+03:00,a,SET,7,7,100,buffered,OK,1",
            "2026-01-17T08:46:08.5Z,b,SET,4,4,100,buffered,OK,1",
            "2026-01-17T11:46:08.6+03:00,b,SET,100,0,100,buffered,ERROR,1",
            "2026-01-17T11:46:09.5+03:00,a,SET,3,3,100,buffered,OK,1",
        ]);
        var output = Path.Combine(_dir.FullName, "out.html");

        Assert.Equal(0, Report(csv, "-o", output).Exit);

        var html = File.ReadAllText(output);
        // Second 0: a 5 + 7, b 4 (the same second written in UTC); the ERROR row's Count is not throughput.
        Assert.Contains("Peak total 16/s, mean 10/s over 2 s", html);
        Assert.Equal(3, Regex.Count(html, "<polyline")); // a, b and the total
    }

    private string WriteCsv(string name, Encoding encoding, string[] rows) => ReportSamples.WriteCsv(_dir, name, encoding, rows);

    private string WriteBench() => ReportSamples.WriteBench(_dir);

    private static (int Exit, string Stdout, string Stderr) Report(params string[] args)
    {
        var root = new RootCommand { ReportCommand.Create() };
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = root.Parse(["report", .. args]).Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private static (int, string, string) Trimmed((int Exit, string Stdout, string Stderr) r) => (r.Exit, r.Stdout.TrimEnd(), r.Stderr.TrimEnd());

    /// <summary>The cells of the row for <paramref name="operation"/> in client <paramref name="client"/>'s table.</summary>
    private static string[] ClientRow(string html, string client, string operation)
    {
        var heading = "<h3>Client " + WebUtility.HtmlEncode(client) + "</h3>";
        var start = html.IndexOf(heading, StringComparison.Ordinal);
        Assert.True(start >= 0, $"no table for client {client}");
        var section = html[start..html.IndexOf("</section>", start, StringComparison.Ordinal)];
        var rows = TableRows(section).Where(r => r.Length > 0 && r[0] == operation).ToList();
        return Assert.Single(rows);
    }

    private static List<string[]> TableRows(string html) => ReportSamples.TableRows(html);

    private static string Text(string html) => ReportSamples.Text(html);
}
