using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Aspire.Hosting.Testing;

namespace Tolerex.Tests.Integration.Cluster;

/// <summary>
/// The real Prometheus binary, run by the AppHost against a real cluster: it scrapes every node, sees the
/// client traffic, and has every series the shipped Grafana dashboard queries.
/// </summary>
public sealed partial class PrometheusTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact(Timeout = 180_000)]
    public async Task Prometheus_scrapes_every_node_and_has_every_series_the_dashboard_uses()
    {
        // CI installs Prometheus (.ci/run), so there the test always runs; elsewhere it needs the binary.
        TestEnvironment.RequireTool("prometheus", "prometheus");

        const int sets = 25;
        await using (var c = await cluster.ConnectAsync())
        {
            for (var i = 0; i < sets; i++)
                Assert.Equal("OK", await c.CommandAsync($"SET {900_000 + i} observed"));
            Assert.Equal("observed", await c.CommandAsync("GET 900000"));
            Assert.Equal("NOT_FOUND", await c.CommandAsync("GET 899999"));
        }

        using var http = new HttpClient { BaseAddress = cluster.App.GetEndpoint("prometheus", "http") };
        var ct = TestContext.Current.CancellationToken;
        await Eventually.HoldsAsync(async () =>
        {
            var up = await QueryAsync(http, "up{job=\"tolerex\"} == 1", ct);
            var nodes = up.Select(r => r.GetProperty("metric").GetProperty("node").GetString()).ToHashSet();
            return nodes.SetEquals(["leader", "member1", "member2", "member3"]);
        }, Timeout, "every node scraped and up");

        // The SETs above are counted as successes, the GET of a missing id as not_found, and nothing as an error.
        // The GET of the missing id came last, so once a scrape holds it, that scrape holds every SET before it
        // (the cluster's own first SET alone could make the SET count reach the mark earlier).
        await Eventually.HoldsAsync(async () =>
            (await QueryAsync(http, "tolerex_leader_commands_total{command=\"GET\",outcome=\"not_found\"} > 0", ct)).Length > 0,
            Timeout, "the GET of a missing id counted");
        Assert.True((await QueryAsync(http, "sum(tolerex_leader_commands_total{command=\"SET\",outcome=\"ok\"})", ct)) is [var r]
            && double.Parse(r.GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture) >= sets, "SETs counted");
        Assert.Empty(await QueryAsync(http, "tolerex_leader_commands_total{outcome=\"error\"} > 0", ct));

        var names = (await QueryAsync(http, "group by (__name__) ({__name__=~\"tolerex_.*\"})", ct))
            .Select(r => r.GetProperty("metric").GetProperty("__name__").GetString()!).ToHashSet();
        var dashboard = await File.ReadAllTextAsync(Path.Combine(TestEnvironment.RepositoryRoot, "deploy", "grafana", "dashboards", "tolerex.json"), ct);
        var used = MetricName().Matches(dashboard).Select(m => m.Value).ToHashSet();
        Assert.NotEmpty(used);
        Assert.Empty(used.Except(names));
    }

    private static async Task<JsonElement[]> QueryAsync(HttpClient http, string query, CancellationToken ct)
    {
        var reply = await http.GetFromJsonAsync<JsonElement>($"/api/v1/query?query={Uri.EscapeDataString(query)}", ct);
        Assert.Equal("success", reply.GetProperty("status").GetString());
        return [.. reply.GetProperty("data").GetProperty("result").EnumerateArray()];
    }

    [GeneratedRegex(@"tolerex_[a-z_]+")]
    private static partial Regex MetricName();
}
