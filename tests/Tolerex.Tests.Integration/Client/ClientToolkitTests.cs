using System.Diagnostics;
using System.IO.Pipelines;
using System.Text;
using Tolerex.Client.Connections;
using Tolerex.Client.Session;

namespace Tolerex.Tests.Integration.Client;

/// <summary>The client's interactive toolkit against a real cluster (AppHost, leader, three members).</summary>
public class ClientToolkitTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<(int Exit, string Replies, string Log, string[] Rows)> RunAsync(string input, SessionOptions options)
    {
        using var replies = new MemoryStream();
        var log = new StringWriter();
        var csv = new StringWriter();
        var session = new InteractiveSession(new StringReader(input), replies, log, options, new CsvLog(csv, options.ClientId));
        var exit = await session.RunAsync([(cluster.Host, cluster.Port)], Ct).WaitAsync(TimeSpan.FromSeconds(60), Ct);
        return (exit, Encoding.UTF8.GetString(replies.ToArray()), log.ToString(), csv.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
    }

    private static string[] Fields(string row) => row.Split(',');

    [Fact(Timeout = 180_000)]
    public async Task A_bulk_set_uses_the_clients_own_id_range_and_counts_every_acknowledgement()
    {
        var (exit, replies, log, rows) = await RunAsync("25 SET bulk\nGET 50010\n", new() { ClientId = "c-7", Offset = 50_000, Flush = 7 });
        Assert.Equal(0, exit);
        Assert.Contains("OK 25 acknowledged, ids 50001..50025\r\nbulk_50010\r\nBye\r\n", replies, StringComparison.Ordinal);
        Assert.Contains("BULK_SET DONE: 25 SET | acknowledged=25 errors=0", log, StringComparison.Ordinal);
        Assert.Equal(CsvLog.Header, rows[0]);
        var bulk = Fields(rows.Single(r => Fields(r)[2] == "BULK_SET"));
        Assert.Equal(("c-7", "25", "buffered", "OK", "4"), (bulk[1], bulk[3], bulk[6], bulk[7], bulk[8]));
        Assert.True(long.Parse(bulk[5], System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.True(DateTimeOffset.TryParse(bulk[0], System.Globalization.CultureInfo.InvariantCulture, out _));

        await using var c = await cluster.ConnectAsync();
        Assert.Equal("bulk_50025", await c.CommandAsync("GET 50025"));
        Assert.Equal("NOT_FOUND", await c.CommandAsync("GET 50026")); // nothing outside the range
        Assert.Equal("NOT_FOUND", await c.CommandAsync("GET 50000")); // the probe id, untouched without --measure
    }

    [Fact(Timeout = 180_000)]
    public async Task Errors_count_as_errors_in_rows_and_in_the_summary()
    {
        var (exit, replies, log, rows) = await RunAsync("SET x y\nSET 51000 fine\nFOO\n", new() { Offset = 51_000, Flush = 1 });
        Assert.Equal(0, exit);
        Assert.Contains("ERROR: id must be numeric\r\nOK\r\nERROR: unknown command\r\n", replies, StringComparison.Ordinal);
        var statuses = rows.Skip(1).Select(Fields).Select(f => (f[2], f[7], f[6])).ToArray();
        Assert.Equal([("SET", "ERROR", "unbuffered"), ("SET", "OK", "unbuffered"), ("FOO", "ERROR", "unbuffered"), ("QUIT", "OK", "unbuffered")], statuses);
        Assert.Contains("Commands: 4 | acknowledged: 2 | errors: 2", log, StringComparison.Ordinal);
    }

    [Fact(Timeout = 180_000)]
    public async Task Measure_probes_on_its_own_id_and_never_resends_the_loads_commands()
    {
        var (exit, replies, log, rows) = await RunAsync("SET 52005 load\nGET 52005\n", new() { Offset = 52_000, Measure = true });
        Assert.Equal(0, exit);
        Assert.Contains("OK\r\nload\r\n", replies, StringComparison.Ordinal);
        var operations = rows.Skip(1).Select(r => Fields(r)[2]).Order().ToArray();
        Assert.Equal(["GET", "PROBE_GET", "PROBE_PING", "PROBE_SET", "QUIT", "SET"], operations);
        Assert.Contains("Probe RTT: samples 3", log, StringComparison.Ordinal);

        // The probe wrote its own id with a message of the load's size; the load's id holds only the load's value.
        await using var c = await cluster.ConnectAsync();
        Assert.Equal("pppp", await c.CommandAsync("GET 52000"));
        Assert.Equal("load", await c.CommandAsync("GET 52005"));
    }

    [Fact(Timeout = 180_000)]
    public async Task Probes_during_bulks_stay_in_step_with_their_replies()
    {
        // Probes every millisecond while bulks run; each probe must get the reply meant for it, also right
        // after a bulk ends (an abandoned probe would leave its reply queued for the next one).
        var options = new SessionOptions { Offset = 55_000, Flush = 10, Measure = true, ProbeInterval = TimeSpan.FromMilliseconds(1) };
        var (exit, _, log, rows) = await RunAsync("300 SET a\nPING\n300 SET b\nGET 55001\nPING\n", options);
        Assert.Equal(0, exit);
        var probes = rows.Skip(1).Select(Fields).Where(f => f[2].StartsWith("PROBE_", StringComparison.Ordinal)).ToArray();
        Assert.True(probes.Length >= 6, log);
        Assert.All(probes, f => Assert.Equal("OK", f[7]));
        Assert.Contains("failed probes: 0", log, StringComparison.Ordinal);
    }

    [Fact(Timeout = 180_000)]
    public async Task Stress_runs_for_its_duration_and_checks_what_it_reads()
    {
        var csv = new StringWriter();
        var log = new StringWriter();
        var options = new SessionOptions { ClientId = "stress", Offset = 1_000_000, Flush = 50 };
        await using var session = await ClientSession.OpenAsync([(cluster.Host, cluster.Port)], options, Stream.Null, log, new CsvLog(csv, "stress"), Ct);
        Assert.NotNull(session);
        string[][] rows;
        // A run picks its operations at random; on a busy machine a 3-second run may do only a few, so runs
        // repeat (on the same session) until one of them has read something back.
        var rounds = 0;
        do
        {
            var clock = Stopwatch.StartNew();
            var exit = await StressLoad.RunAsync(session, TimeSpan.FromSeconds(3), log, Ct);
            Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(3), log.ToString());
            Assert.Equal(0, exit);
            Assert.Equal(0, session.Errors);
            Assert.Contains("Stress test completed", log.ToString(), StringComparison.Ordinal);
            rows = [.. csv.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(Fields)];
        }
        while (!rows.Any(r => r[2] == "GET") && ++rounds < 10);

        Assert.Contains(rows, r => r[2] == "GET");
        Assert.Contains(rows, r => r[2] == "BULK_SET");
        Assert.All(rows, r => Assert.Equal("OK", r[7]));
        Assert.Equal(session.Acked, rows.Sum(r => long.Parse(r[3], System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact(Timeout = 180_000)]
    public async Task The_client_process_writes_csv_to_stdout_and_no_terminal_codes_when_redirected()
    {
        var (exit, stdout, log) = await TestEnvironment.RunAsync(TestEnvironment.DotnetHost,
            [TestEnvironment.Beside("tolerex.dll"), "--addr", $"{cluster.Host}:{cluster.Port}", "--csv", "--id", "proc", "--offset", "53000"],
            TimeSpan.FromSeconds(60), stdin: "300 SET redirected\nGET 53300\n");
        Assert.Equal(0, exit);
        var rows = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(CsvLog.Header, rows[0]);
        Assert.Equal("300", Fields(rows.Single(r => r.Contains(",BULK_SET,", StringComparison.Ordinal)))[3]);
        Assert.Contains("redirected_53300", log, StringComparison.Ordinal); // replies go to stderr with --csv
        Assert.DoesNotContain('\u001b', log); // no progress bar or colour codes into a file
    }

    [Fact(Timeout = 180_000)]
    public async Task On_a_terminal_a_bulk_shows_a_progress_bar_with_rate_and_time_left()
    {
        // util-linux `script` gives the client a pseudo-terminal, as a user's shell would.
        var script = TestEnvironment.RequireTool("bsdutils", "script");
        var input = Path.Combine(Path.GetTempPath(), $"tolerex-tty-{Guid.NewGuid():N}.txt");
        await File.WriteAllTextAsync(input, "5000 SET on-a-terminal\n", Ct);
        try
        {
            var client = $"{TestEnvironment.DotnetHost} {TestEnvironment.Beside("tolerex.dll")} --addr {cluster.Host}:{cluster.Port} --offset 56000 --flush 100 < {input}";
            var (exit, text, _) = await TestEnvironment.RunAsync(script, ["-q", "-e", "-c", client, "/dev/null"], TimeSpan.FromSeconds(120));
            Assert.Equal(0, exit);
            Assert.Contains("OK 5000 acknowledged", text, StringComparison.Ordinal);
            Assert.Contains("BULK_SET ×5000", text, StringComparison.Ordinal); // the bar's label
            Assert.Matches(@"\d+ SET/s", text);                                // its rate column
            Assert.Contains("\u001b[", text, StringComparison.Ordinal);        // drawn with terminal control sequences
        }
        finally
        {
            File.Delete(input);
        }
    }

    [Fact]
    public void Bad_options_are_refused_with_one_clear_message()
    {
        var root = SessionCommand.Create(new ConnectionOptions());
        Assert.Contains("--flush must be at least 1", root.Parse(["--flush", "0"]).Errors.Single().Message, StringComparison.Ordinal);
        Assert.Contains("--id must be", root.Parse(["--id", "a,b"]).Errors.Single().Message, StringComparison.Ordinal);
        Assert.Contains("--addr", root.Parse(["--addr", "nohost"]).Errors.Single().Message, StringComparison.Ordinal);
        Assert.Empty(root.Parse(["--flush", "1", "--offset", "7", "--measure", "--csv", "--stress", "2"]).Errors);
    }

    [Fact(Timeout = 180_000)]
    public async Task Bench_pipelines_commands_and_counts_every_reply()
    {
        var result = await Tolerex.Client.Bench.BenchRunner.RunAsync(
            new(cluster.Host, cluster.Port, Connections: 3, Requests: 301, StartId: 54_000, Pipeline: 16), null, Ct);
        Assert.Equal((301L, 0L, 16), (result.Requests, result.Errors, result.Pipeline));
        await using var c = await cluster.ConnectAsync();
        Assert.Equal(100, (await c.CommandAsync("GET 54300")).Length);
        Assert.Equal("NOT_FOUND", await c.CommandAsync("GET 54301"));
    }
}

/// <summary>The client against leaders without members: failures must show as failures.</summary>
public class ClientFailureTests
{
    [Fact(Timeout = 180_000)]
    public async Task A_bulk_nobody_acknowledged_is_reported_as_errors_not_as_sends()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var leader = await StandaloneLeader.StartAsync(new Dictionary<string, string>()); // no members: every SET fails
        using var replies = new MemoryStream();
        var log = new StringWriter();
        var csv = new StringWriter();
        var session = new InteractiveSession(new StringReader("5 SET nobody\n"), replies, log, new SessionOptions { Flush = 2 }, new CsvLog(csv, "c"));
        Assert.Equal(0, await session.RunAsync([("localhost", leader.Port)], ct).WaitAsync(TimeSpan.FromSeconds(60), ct));
        Assert.Contains("ERROR: 5 of 5 not acknowledged, ids 1..5", Encoding.UTF8.GetString(replies.ToArray()), StringComparison.Ordinal);
        Assert.Contains("acknowledged=0 errors=5", log.ToString(), StringComparison.Ordinal);
        var bulk = csv.ToString().Split(Environment.NewLine).Single(r => r.Contains(",BULK_SET,", StringComparison.Ordinal)).Split(',');
        Assert.Equal(("5", "ERROR"), (bulk[3], bulk[7]));
    }

    [Fact(Timeout = 180_000)]
    public async Task When_the_leader_dies_the_client_moves_on_to_the_next_address()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var first = await StandaloneLeader.StartAsync(new Dictionary<string, string>());
        await using var second = await StandaloneLeader.StartAsync(new Dictionary<string, string>());
        var input = new Pipe();
        var replies = new CapturedOutput();
        var log = new StringWriter();
        var session = new InteractiveSession(new StreamReader(input.Reader.AsStream()), replies, TextWriter.Synchronized(log),
            new SessionOptions { ReconnectFor = TimeSpan.FromSeconds(20) });
        var run = session.RunAsync([("localhost", first.Port), ("localhost", second.Port)], ct);

        await input.Writer.WriteAsync("PING\n"u8.ToArray(), ct);
        await Eventually.HoldsAsync(() => Task.FromResult(replies.Text.Contains("PONG", StringComparison.Ordinal)), TimeSpan.FromSeconds(20), "first PONG");
        first.Process.Kill();
        await first.Process.WaitForExitAsync(TimeSpan.FromSeconds(10));

        await input.Writer.WriteAsync("PING\nPING\n"u8.ToArray(), ct);
        await input.Writer.CompleteAsync();
        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(60), ct));
        var text = replies.Text;
        Assert.Contains($"reconnected to localhost:{second.Port}", log.ToString(), StringComparison.Ordinal);
        // The command cut off by the failure is reported, not silently retried; the next one is answered by the second leader.
        Assert.Matches(@"^[\s\S]*PONG\r\nERROR: connection lost; command not confirmed \(now connected to localhost:\d+\)\r\nPONG\r\nBye\r\n$", text);
        Assert.Contains("errors: 1", log.ToString(), StringComparison.Ordinal);
    }

    [Fact(Timeout = 180_000)]
    public async Task A_client_whose_leader_died_still_exits_cleanly_at_end_of_input()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var leader = await StandaloneLeader.StartAsync(new Dictionary<string, string>());
        var input = new Pipe();
        var replies = new CapturedOutput();
        var session = new InteractiveSession(new StreamReader(input.Reader.AsStream()), replies, TextWriter.Null, new SessionOptions());
        var run = session.RunAsync([("localhost", leader.Port)], ct);
        await input.Writer.WriteAsync("PING\n"u8.ToArray(), ct);
        await Eventually.HoldsAsync(() => Task.FromResult(replies.Text.Contains("PONG", StringComparison.Ordinal)), TimeSpan.FromSeconds(20), "PONG");
        leader.Process.Kill();
        await leader.Process.WaitForExitAsync(TimeSpan.FromSeconds(10));
        await input.Writer.CompleteAsync(); // end of input: the goodbye goes to a dead connection

        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(30), ct));
    }

    /// <summary>A write-only stream whose content can be read while another task writes.</summary>
    private sealed class CapturedOutput : Stream
    {
        private readonly List<byte> _bytes = [];

        public string Text
        {
            get
            {
                lock (_bytes)
                    return Encoding.UTF8.GetString([.. _bytes]);
            }
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            lock (_bytes)
                _bytes.AddRange(buffer);
        }

        public override void Flush()
        {
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
