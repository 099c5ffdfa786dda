using System.Text;
using Tolerex.Protocol.HaToKuSe;

namespace Tolerex.Tests.Integration.Cluster;

/// <summary>The client protocols end to end: real AppHost, leader, three members, TCP through Aspire's proxy.</summary>
public partial class ClusterProtocolTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>
{
    [Fact(Timeout = 180_000)]
    public async Task Banner_and_prompt_are_exactly_the_originals()
    {
        await using var c = await cluster.ConnectAsync(quiet: false);
        var expected = Encoding.ASCII.GetString(HaToKuSeText.Banner).Split("\r\n")[..^1];
        foreach (var line in expected)
            Assert.Equal(line, await c.ReadLineAsync());
        Assert.Equal("tolerex> ", await c.ReadExactAsync(9));
        await c.SendAsync("PING\r\n");
        Assert.Equal("PONG", await c.ReadLineAsync());
        Assert.Equal("tolerex> ", await c.ReadExactAsync(9));
        await c.SendAsync("quit\r\n");
        Assert.Equal("Bye", await c.ReadLineAsync());
        Assert.True(await c.ClosedByServerAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact(Timeout = 180_000)]
    public async Task Set_then_get_returns_the_message_byte_for_byte()
    {
        await using var c = await cluster.ConnectAsync();
        Assert.Equal("OK", await c.CommandAsync("SET 100 HELLO   world \t end "));
        Assert.Equal("HELLO   world \t end ", await c.CommandAsync("get 100"));
        Assert.Equal("OK", await c.CommandAsync("SET 100 overwritten"));
        Assert.Equal("overwritten", await c.CommandAsync("GET 100"));
        Assert.Equal("NOT_FOUND", await c.CommandAsync("GET 987654321"));
    }

    [Fact(Timeout = 180_000)]
    public async Task Del_removes_a_message_everywhere()
    {
        await using var c = await cluster.ConnectAsync();
        Assert.Equal("OK", await c.CommandAsync("SET 150 short-lived"));
        Assert.Equal("OK", await c.CommandAsync("DEL 150"));
        Assert.Equal("NOT_FOUND", await c.CommandAsync("GET 150"));
        Assert.Equal("NOT_FOUND", await c.CommandAsync("DEL 150"));
        Assert.Equal("ERROR: DEL <id>", await c.CommandAsync("DEL"));
        Assert.Equal("OK", await c.CommandAsync("SET 150 back again"));
        Assert.Equal("back again", await c.CommandAsync("GET 150"));
    }

    [Fact(Timeout = 180_000)]
    public async Task Ids_are_64_bit_and_do_not_wrap()
    {
        await using var c = await cluster.ConnectAsync();
        Assert.Equal("OK", await c.CommandAsync("SET 1 one"));
        Assert.Equal("OK", await c.CommandAsync("SET 4294967297 big"));
        Assert.Equal("OK", await c.CommandAsync("SET -9223372036854775808 min"));
        Assert.Equal("one", await c.CommandAsync("GET 1"));
        Assert.Equal("big", await c.CommandAsync("GET 4294967297"));
        Assert.Equal("min", await c.CommandAsync("GET -9223372036854775808"));
        Assert.Equal("ERROR: id must be numeric", await c.CommandAsync("SET 9223372036854775808 x"));
    }

    [Fact(Timeout = 180_000)]
    public async Task Binary_messages_round_trip()
    {
        await using var c = await cluster.ConnectAsync();
        var payload = Enumerable.Range(1, 255).Select(i => (byte)i).Where(b => b is not ((byte)'\n' or (byte)'\r')).ToArray();
        await c.SendAsync([.. "SET 200 "u8.ToArray(), .. payload, .. "\r\n"u8.ToArray()]);
        Assert.Equal("OK", await c.ReadLineAsync());
        await c.SendAsync("GET 200\r\n");
        Assert.Equal(payload, await c.ReadLineBytesAsync());
    }

    [Fact(Timeout = 180_000)]
    public async Task Pipelined_commands_are_all_answered_in_order()
    {
        await using var c = await cluster.ConnectAsync();
        var batch = new StringBuilder();
        for (var i = 0; i < 100; i++)
            batch.Append($"SET {1000 + i} value-{i}\nGET {1000 + i}\r\n");
        await c.SendAsync(batch.ToString());
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal("OK", await c.ReadLineAsync());
            Assert.Equal($"value-{i}", await c.ReadLineAsync());
        }
    }

    [Fact(Timeout = 180_000)]
    public async Task A_command_split_across_segments_works()
    {
        await using var c = await cluster.ConnectAsync();
        foreach (var part in new[] { "SE", "T 3", "00 split ", "message\r", "\nGET 300", "\n" })
            await c.SendAsync(part);
        Assert.Equal("OK", await c.ReadLineAsync());
        Assert.Equal("split message", await c.ReadLineAsync());
    }

    [Fact(Timeout = 180_000)]
    public async Task Bad_input_gets_one_error_line_and_the_connection_carries_on()
    {
        await using var c = await cluster.ConnectAsync();
        Assert.Equal("ERROR: unknown command", await c.CommandAsync("FOO bar"));
        Assert.Equal("ERROR: SET <id> <message>", await c.CommandAsync("SET 5"));
        Assert.Equal("ERROR: GET <id>", await c.CommandAsync("GET 1 2"));
        Assert.Equal("ERROR: id must be numeric", await c.CommandAsync("GET x"));
        Assert.Equal("ERROR: count must be between 1 and 100000", await c.CommandAsync("100001 SET x"));
        Assert.Equal("ERROR: AUTH used but no password is set", await c.CommandAsync("AUTH anything"));
        Assert.Equal("ERROR: AUTH <password>", await c.CommandAsync("AUTH"));
        Assert.Equal("PONG", await c.CommandAsync("PING"));
    }

    [Fact(Timeout = 180_000)]
    public async Task Bulk_set_stores_n_messages_under_fresh_ids()
    {
        await using var c = await cluster.ConnectAsync();
        var reply = await c.CommandAsync("25 SET bulk message");
        var match = System.Text.RegularExpressions.Regex.Match(reply, @"^OK 25 ids (\d+)\.\.(\d+)$");
        Assert.True(match.Success, reply);
        var first = long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(first + 24, long.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
        for (var id = first; id <= first + 24; id++)
            Assert.Equal("bulk message", await c.CommandAsync($"GET {id}"));
    }

    [Fact(Timeout = 180_000)]
    public async Task A_line_over_the_limit_is_refused_and_the_connection_closed()
    {
        await using var c = await cluster.ConnectAsync();
        var chunk = Encoding.ASCII.GetBytes(new string('x', 64 * 1024));
        await c.SendAsync("SET 400 ");
        var sent = 0;
        try
        {
            while (sent <= 4 * 1024 * 1024 + 64 * 1024)
            {
                await c.SendAsync(chunk);
                sent += chunk.Length;
            }
        }
        catch (IOException)
        {
            // The server may close while the rest is still being sent.
        }

        Assert.Equal("ERROR: line too long", await c.ReadLineAsync());
        Assert.True(await c.ClosedByServerAsync(TimeSpan.FromSeconds(10)));
        await using var fresh = await cluster.ConnectAsync();
        Assert.Equal("NOT_FOUND", await fresh.CommandAsync("GET 400"));
    }

    [Fact(Timeout = 180_000)]
    public async Task The_interactive_client_exits_cleanly_at_end_of_input()
    {
        var input = new StringReader("SET 500 from the client\nGET 500\n"); // no QUIT
        using var output = new MemoryStream();
        var session = new Tolerex.Client.Session.InteractiveSession(input, output, TextWriter.Null, new());
        var exit = await session.RunAsync([(cluster.Host, cluster.Port)], TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.Equal(0, exit);
        var text = Encoding.UTF8.GetString(output.ToArray());
        Assert.Contains("TOLEREX - Leader Node", text, StringComparison.Ordinal);
        Assert.EndsWith("OK\r\nfrom the client\r\nBye\r\n", text, StringComparison.Ordinal);
    }

    [Fact(Timeout = 180_000)]
    public async Task The_interactive_client_reports_an_unreachable_leader()
    {
        var error = new StringWriter();
        var session = new Tolerex.Client.Session.InteractiveSession(new StringReader(""), Stream.Null, error, new());
        var exit = await session.RunAsync([("127.0.0.1", Integration.NodeProcess.FreePort())], TestContext.Current.CancellationToken);
        Assert.Equal(1, exit);
        Assert.Contains("no Tolerex leader reachable", error.ToString(), StringComparison.Ordinal);
    }

    [Fact(Timeout = 180_000)]
    public async Task Bench_counts_successful_sets()
    {
        var result = await Tolerex.Client.Bench.BenchRunner.RunAsync(
            new(cluster.Host, cluster.Port, Connections: 4, Requests: 200, StartId: 10_000), null, TestContext.Current.CancellationToken);
        Assert.Equal((200L, 0L), (result.Requests, result.Errors));
        Assert.True(result.P50Us > 0 && result.P99Us >= result.P50Us);
        await using var c = await cluster.ConnectAsync();
        Assert.Equal(100, (await c.CommandAsync("GET 10150")).Length);
    }

    [Fact(Timeout = 180_000)]
    public async Task Members_lists_every_member_with_its_state()
    {
        var members = await cluster.MembersAsync();
        Assert.Equal(["member1", "member2", "member3"], members.Select(m => m.Name).Order());
        Assert.All(members, m => Assert.Matches(@"^https://\S+ name=member\d alive=true last_heartbeat=\S+ \(\d+\.\ds ago\) messages=\d+ bytes=\d+$", m.Line));
    }
}
