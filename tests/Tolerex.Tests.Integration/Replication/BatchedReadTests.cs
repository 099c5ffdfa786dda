using System.Globalization;
using Tolerex.Tests.Integration.Faults;
using Tolerex.Tests.Integration.Resp;

namespace Tolerex.Tests.Integration.Replication;

/// <summary>
/// Reads the leader sends a member at the same time share batches on one stream per member, and each read still
/// gets its own answer; with real processes, the value cache off so that every read reaches a member.
/// </summary>
public sealed class BatchedReadTests
{
    private const int Ids = 64;

    [Fact(Timeout = 240_000)]
    public async Task Concurrent_reads_of_a_member_share_batches_and_each_gets_its_own_value()
    {
        var respPort = NodeProcess.FreePort();
        await using var cluster = await ProcessCluster.StartAsync(3, new Dictionary<string, string>
        {
            ["Tolerex__Leader__Tolerance"] = "2",
            ["Tolerex__Leader__RespPort"] = respPort.ToString(CultureInfo.InvariantCulture),
        });
        await using var r = await RespConnection.OpenAsync(respPort);
        var mset = new List<string> { "MSET" };
        for (var id = 1; id <= Ids; id++)
            mset.AddRange([$"{id}", $"value-{id}"]);
        Assert.Equal("OK", await r.CommandAsync([.. mset]));

        // One MGET reads its ids side by side (BulkConcurrency), so the reads bound for one member travel together.
        var before = await MetricsScrape.SumAsync(cluster.MetricsPort, "tolerex_leader_replica_call_duration_seconds_count", "operation=\"retrieve_batch\"");
        var mget = new List<string> { "MGET" };
        for (var id = 1; id <= Ids; id++)
            mget.Add($"{id}");
        mget.Add("999999"); // never written: nil, from the index alone
        var expected = string.Join('\n', Enumerable.Range(1, Ids).Select(id => $"value-{id}").Append("(nil)"));
        Assert.Equal(expected, await r.CommandAsync([.. mget]));
        var batches = await ReadBatchesAsync(cluster, before) - before;
        Assert.InRange(batches, 1, Ids / 2);

        // Single GETs, one after another, each a batch of one, answer the same.
        await using var c = await cluster.ConnectAsync();
        for (var id = 1; id <= Ids; id += 7)
            Assert.Equal($"value-{id}", await c.CommandAsync($"GET {id}"));
    }

    private static Task<double> ReadBatchesAsync(ProcessCluster cluster, double above) =>
        MetricsScrape.SettledAsync(cluster.MetricsPort, "tolerex_leader_replica_call_duration_seconds_count", above, "operation=\"retrieve_batch\"");
}
