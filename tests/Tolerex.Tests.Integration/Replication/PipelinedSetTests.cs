using System.Globalization;
using System.Text;
using Tolerex.Tests.Integration.Faults;
using Tolerex.Tests.Integration.Resp;

namespace Tolerex.Tests.Integration.Replication;

/// <summary>
/// SETs a client pipelines (sends before the replies of those before) are stored side by side, answered in order,
/// and still take effect in the order they came: on both protocols, with real processes.
/// </summary>
public sealed class PipelinedSetTests
{
    private const string EntriesMetric = "tolerex_leader_index_entry_records_count";
    private const int Sets = 64;

    [Fact(Timeout = 240_000)]
    public async Task Pipelined_sets_share_index_entries_answer_in_order_and_keep_their_order_per_id()
    {
        var respPort = NodeProcess.FreePort();
        await using var cluster = await ProcessCluster.StartAsync(3, new Dictionary<string, string>
        {
            ["Tolerex__Leader__Tolerance"] = "2",
            ["Tolerex__Leader__RespPort"] = respPort.ToString(CultureInfo.InvariantCulture),
        });
        await using var c = await cluster.ConnectAsync();

        // One at a time, each SET is an index entry of its own.
        var before = await SettledEntriesAsync(cluster, 0);
        for (var id = 1; id <= Sets; id++)
            Assert.Equal("OK", await c.CommandAsync($"SET {id} one-{id}"));
        var sequential = await SettledEntriesAsync(cluster, before) - before;
        Assert.True(sequential >= Sets, $"{sequential} index entries for {Sets} SETs sent one at a time");

        // Sent in one write, they are stored side by side and share entries; the replies come in order.
        var batch = new StringBuilder();
        for (var id = 101; id <= 100 + Sets; id++)
            batch.Append(CultureInfo.InvariantCulture, $"SET {id} piped-{id}\r\n");
        before = await SettledEntriesAsync(cluster, 0);
        await c.SendAsync(batch.ToString());
        for (var id = 101; id <= 100 + Sets; id++)
            Assert.Equal("OK", await c.ReadLineAsync());
        var pipelined = await SettledEntriesAsync(cluster, before) - before;
        Assert.True(pipelined <= Sets / 2, $"{pipelined} index entries for {Sets} pipelined SETs");
        for (var id = 101; id <= 100 + Sets; id++)
            Assert.Equal($"piped-{id}", await c.CommandAsync($"GET {id}"));

        // The same id twice in one pipeline: the later SET wins, and a GET in the pipeline sees every SET before it.
        await c.SendAsync("SET 7 a\r\nSET 8 x\r\nSET 7 b\r\nGET 7\r\nSET 7 c\r\nSET 9 y\r\nGET 7\r\nGET 8\r\nDEL 9\r\nGET 9\r\n");
        foreach (var expected in new[] { "OK", "OK", "OK", "b", "OK", "OK", "c", "x", "OK", "NOT_FOUND" })
            Assert.Equal(expected, await c.ReadLineAsync());

        // RESP: the same, as redis-benchmark -P and client pipelines send it.
        await using var r = await RespConnection.OpenAsync(respPort);
        var requests = new List<byte>();
        for (var id = 201; id <= 200 + Sets; id++)
            requests.AddRange(RespConnection.Request("SET"u8.ToArray(), Encoding.ASCII.GetBytes($"{id}"), Encoding.ASCII.GetBytes($"resp-{id}")));
        requests.AddRange(RespConnection.Request("SET"u8.ToArray(), "7"u8.ToArray(), "d"u8.ToArray()));
        requests.AddRange(RespConnection.Request("SET"u8.ToArray(), "7"u8.ToArray(), "e"u8.ToArray()));
        requests.AddRange(RespConnection.Request("GET"u8.ToArray(), "7"u8.ToArray()));
        requests.AddRange(RespConnection.Request("SET"u8.ToArray(), "not-an-id"u8.ToArray(), "v"u8.ToArray()));
        requests.AddRange(RespConnection.Request("MGET"u8.ToArray(), "201"u8.ToArray(), Encoding.ASCII.GetBytes($"{200 + Sets}")));
        before = await SettledEntriesAsync(cluster, 0);
        await r.SendAsync([.. requests]);
        for (var id = 201; id <= 200 + Sets; id++)
            Assert.Equal("OK", await r.ReadReplyAsync());
        Assert.Equal("OK", await r.ReadReplyAsync());
        Assert.Equal("OK", await r.ReadReplyAsync());
        Assert.Equal("e", await r.ReadReplyAsync());
        Assert.Equal("-ERR key must be a 64-bit integer id", await r.ReadReplyAsync());
        Assert.Equal($"resp-201\nresp-{200 + Sets}", await r.ReadReplyAsync());
        pipelined = await SettledEntriesAsync(cluster, before) - before;
        Assert.True(pipelined <= Sets / 2, $"{pipelined} index entries for {Sets + 2} pipelined RESP SETs");
    }

    private static Task<double> SettledEntriesAsync(ProcessCluster cluster, double above) =>
        MetricsScrape.SettledAsync(cluster.MetricsPort, EntriesMetric, above);
}
