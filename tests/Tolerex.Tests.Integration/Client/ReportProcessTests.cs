using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;
using Tolerex.Client.Report;

namespace Tolerex.Tests.Integration.Client;

/// <summary>The <c>report</c> verb as a user runs it: the real client process, and its page in a real browser.</summary>
public sealed class ReportProcessTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("tolerex-report-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact(Timeout = 180_000)]
    public async Task A_malformed_row_exits_1_with_file_and_line_and_writes_no_page()
    {
        var csv = ReportSamples.WriteCsv(_dir, "bad.csv", new UnicodeEncoding(false, true),
            [ReportSamples.AlphaRows[0], "2026-01-17T11:46:08.7+03:00,alpha,SET,three,300,3000,buffered,OK,100", "also bad"]);
        var output = Path.Combine(_dir.FullName, "out.html");

        // The real executable, so Program.cs's registration and the process's exit code and stderr are what is checked.
        var (exit, stdout, stderr) = await RunClientAsync(TimeSpan.FromSeconds(60), "report", csv, "--output", output);

        Assert.Equal(1, exit);
        Assert.Equal("", stdout);
        Assert.Equal($"ERROR: {csv}:3: Count \"three\" is not a non-negative integer", stderr.TrimEnd());
        Assert.False(File.Exists(output));
        Assert.Equal(["bad.csv"], _dir.GetFiles().Select(f => f.Name));
    }

    [Fact(Timeout = 180_000)]
    public async Task The_page_renders_in_headless_chromium()
    {
        // CI installs Chromium (.ci/run), so there the test always runs; elsewhere it needs the browser.
        var chromium = TestEnvironment.RequireTool("chromium", "chromium", "chromium-browser");

        var output = Path.Combine(_dir.FullName, "report.html");
        var (exit, _, stderr) = await RunClientAsync(TimeSpan.FromSeconds(60), "report",
            ReportSamples.WriteCsv(_dir, "alpha.csv", new UnicodeEncoding(false, true), ReportSamples.AlphaRows),
            ReportSamples.WriteCsv(_dir, "beta.csv", new UTF8Encoding(false), ReportSamples.BetaRows),
            ReportSamples.WriteBench(_dir), "-o", output);
        Assert.True(exit == 0, stderr);
        var png = Path.Combine(_dir.FullName, "report.png");
        var url = new Uri(output).AbsoluteUri;

        var screenshot = await TestEnvironment.RunAsync(chromium, [.. ChromiumFlags("shot"), $"--screenshot={png}", "--window-size=1280,1600", url], TimeSpan.FromSeconds(120));
        Assert.True(screenshot.Exit == 0, $"chromium --screenshot exited {screenshot.Exit}: {screenshot.Stderr}");
        var bytes = File.ReadAllBytes(png);
        Assert.True(bytes.Length > 20_000, $"screenshot is only {bytes.Length} bytes");
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
        Assert.Equal(1280, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16, 4)));

        var dom = await TestEnvironment.RunAsync(chromium, [.. ChromiumFlags("dom"), "--dump-dom", url], TimeSpan.FromSeconds(120));
        Assert.True(dom.Exit == 0, $"chromium --dump-dom exited {dom.Exit}: {dom.Stderr}");
        var body = ReportSamples.Text(dom.Stdout[dom.Stdout.IndexOf("<body", StringComparison.Ordinal)..]);
        Assert.Contains("Tolerex performance report", body);
        Assert.Contains("Client alpha", body);
        Assert.Contains("tolerex/redis throughput ratio", body);
        Assert.Contains(["SET", "buffered, unbuffered", "3", "4", "1", "400", "2,500", "1,000", "3,000", "3,000", "3,000"], ReportSamples.TableRows(dom.Stdout));
        Assert.Equal(2, Regex.Count(dom.Stdout, "<svg "));
    }

    private string[] ChromiumFlags(string profile) =>
        ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", $"--user-data-dir={Path.Combine(_dir.FullName, "chromium-" + profile)}"];

    /// <summary>Runs the built client (tolerex.dll beside this test assembly) through the dotnet host.</summary>
    private static Task<(int Exit, string Stdout, string Stderr)> RunClientAsync(TimeSpan deadline, params string[] args) =>
        TestEnvironment.RunAsync(TestEnvironment.DotnetHost, [typeof(ReportCommand).Assembly.Location, .. args], deadline);
}
