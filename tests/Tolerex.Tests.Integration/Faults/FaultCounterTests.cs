using System.Globalization;

namespace Tolerex.Tests.Integration.Faults;

/// <summary>
/// The counters an operator watches move when the faults they count happen: a copy moved off an unresponsive
/// member, a GET asking the next replica, a damaged record found when a member reopens its log.
/// </summary>
public sealed class FaultCounterTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The sum of every series of <paramref name="metric"/> on a node's /metrics (0 when it has none yet).</summary>
    internal static async Task<double> ScrapeAsync(int port, string metric)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var text = await http.GetStringAsync($"http://localhost:{port}/metrics", Ct);
        return text.Split('\n')
            .Where(line => line.StartsWith(metric + " ", StringComparison.Ordinal) || line.StartsWith(metric + "{", StringComparison.Ordinal))
            .Sum(line => double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
    }

    private static async Task SetAsync(HaToKuSeConnection c, int id, string value) => Assert.Equal($"SET {id}: OK", $"SET {id}: {await c.CommandAsync($"SET {id} {value}")}");

    [Fact(Timeout = 240_000)]
    public async Task Read_failovers_and_substitutions_are_counted()
    {
        await using var cluster = await ProcessCluster.StartAsync(3, new Dictionary<string, string>
        {
            ["Tolerex__Leader__Tolerance"] = "2",
            // No hedged second read: a GET waits for its first replica's attempt to time out, then asks the next.
            ["Tolerex__Leader__ReadHedgeDelay"] = "10s",
        }, proxied: true);
        var leader = cluster.MetricsPort;
        await using (var c = await cluster.ConnectAsync())
        {
            for (var id = 1; id <= 30; id++)
                await SetAsync(c, id, $"v{id}");
        }

        var failovers = await ScrapeAsync(leader, "tolerex_leader_read_failovers_total");
        var substitutions = await ScrapeAsync(leader, "tolerex_leader_replica_substitutions_total");

        // member0 stops answering the leader but keeps heartbeating, so it stays alive: a GET whose first
        // replica it is times out there and asks the next, and still reads the value.
        var member = cluster.Members[0];
        member.Proxy!.Blackhole = Direction.Both;
        await using (var c = await cluster.ConnectAsync())
        {
            for (var id = 1; id <= 30; id++)
                Assert.Equal($"v{id}", await c.CommandAsync($"GET {id}"));
        }

        Assert.True(await ScrapeAsync(leader, "tolerex_leader_read_failovers_total") > failovers, "tolerex_leader_read_failovers_total moved");

        // Copies aimed at it time out (StoreTimeout) and move to the others; every SET is acknowledged.
        await using (var c = await cluster.ConnectAsync())
        {
            for (var id = 100; id < 110; id++)
                await SetAsync(c, id, $"v{id}");
        }

        Assert.True(await ScrapeAsync(leader, "tolerex_leader_replica_substitutions_total") > substitutions,
            "tolerex_leader_replica_substitutions_total moved");
    }

    /// <summary>
    /// The latency histograms have buckets fine enough for what they measure: SETs and index commits take
    /// milliseconds, and with OpenTelemetry's default buckets (0, 5, 10, … seconds) every one of them would fall in
    /// the first, making percentiles meaningless.
    /// </summary>
    [Fact(Timeout = 240_000)]
    public async Task Set_and_index_commit_latencies_are_resolved_to_milliseconds()
    {
        await using var cluster = await ProcessCluster.StartAsync(2, new Dictionary<string, string> { ["Tolerex__Leader__Tolerance"] = "2" });
        await using (var c = await cluster.ConnectAsync())
        {
            for (var id = 1; id <= 20; id++)
                await SetAsync(c, id, $"v{id}");
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var metrics = (await http.GetStringAsync($"http://localhost:{cluster.MetricsPort}/metrics", Ct)).Split('\n');
        double Bucket(string histogram, string labels, string le) => metrics
            .Where(l => l.StartsWith(histogram + "_bucket{", StringComparison.Ordinal) && l.Contains(labels, StringComparison.Ordinal) && l.Contains($"le=\"{le}\"", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));

        // SETs within half a second and index commits within 100 ms are counted as such (the default buckets have
        // no such boundaries: these series would be missing).
        Assert.True(Bucket("tolerex_leader_command_duration_seconds", "command=\"SET\",outcome=\"ok\"", "0.5") > 0, "SETs within 500 ms are counted");
        Assert.True(Bucket("tolerex_leader_index_commit_duration_seconds", "outcome=\"ok\"", "0.1") > 0, "index commits within 100 ms are counted");
    }

    [Fact(Timeout = 240_000)]
    public async Task A_damaged_record_is_counted_when_the_member_reopens_and_its_id_still_reads_back()
    {
        await using var cluster = await ProcessCluster.StartAsync(2, new Dictionary<string, string> { ["Tolerex__Leader__Tolerance"] = "2" });
        await using (var c = await cluster.ConnectAsync())
        {
            for (var id = 1; id <= 200; id++)
                await SetAsync(c, id, $"value-{id}-" + new string('x', 200));
        }

        var member = cluster.Members[0];
        await member.KillAsync();
        // Flip bytes in the middle of the member's segment: one record's checksum no longer matches.
        var segment = Directory.GetFiles(member.DataDirectory, "*.seg").Select(f => new FileInfo(f)).Where(f => f.Length > 0)
            .OrderByDescending(f => f.Length).First();
        var bytes = await File.ReadAllBytesAsync(segment.FullName, Ct);
        var middle = bytes.AsSpan().IndexOf("value-100-"u8) + 50; // inside id 100's payload
        Assert.True(middle > 50, "id 100's copy in the segment");
        using (var file = new FileStream(segment.FullName, FileMode.Open, FileAccess.Write))
        {
            file.Position = middle;
            await file.WriteAsync("DAMAGED"u8.ToArray(), Ct);
            file.Flush(flushToDisk: true);
        }

        await member.RestartAsync();
        await cluster.WaitForAliveAsync(2);
        await Eventually.HoldsAsync(async () =>
        {
            try
            {
                return await ScrapeAsync(member.MetricsPort, "tolerex_member_storage_corrupt_records_total") >= 1;
            }
            catch (HttpRequestException)
            {
                return false; // the member registers before its metrics endpoint listens
            }
        }, TimeSpan.FromSeconds(30), "tolerex_member_storage_corrupt_records_total at least 1");

        // Every id still reads back as written: the other replica answers for the damaged copy.
        await using (var c = await cluster.ConnectAsync())
        {
            for (var id = 1; id <= 200; id++)
                Assert.Equal($"value-{id}-" + new string('x', 200), await c.CommandAsync($"GET {id}"));
        }
    }
}
