using System.Globalization;

namespace Tolerex.Tests.Integration;

/// <summary>Reads a counter or histogram count from a node's Prometheus endpoint.</summary>
internal static class MetricsScrape
{
    /// <summary>The sum of the series of <paramref name="metric"/> whose labels contain <paramref name="label"/> (all when null).</summary>
    public static async Task<double> SumAsync(int port, string metric, string? label = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var text = await http.GetStringAsync($"http://localhost:{port}/metrics", TestContext.Current.CancellationToken);
        return text.Split('\n')
            .Where(l => (l.StartsWith(metric + " ", StringComparison.Ordinal) || l.StartsWith(metric + "{", StringComparison.Ordinal))
                && (label is null || l.Contains(label, StringComparison.Ordinal)))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// The value once it is above <paramref name="above"/> and stays put across two scrapes further apart than the
    /// exporter caches a scrape (a count recorded just after the replies it belongs to lands a moment later).
    /// </summary>
    public static async Task<double> SettledAsync(int port, string metric, double above, string? label = null)
    {
        var last = double.NaN;
        await Eventually.HoldsAsync(async () =>
        {
            var now = await SumAsync(port, metric, label);
            var settled = now > above && now == last;
            last = now;
            if (!settled)
                await Task.Delay(TimeSpan.FromMilliseconds(400));
            return settled;
        }, TimeSpan.FromSeconds(30), $"{metric} to settle above {above}");
        return last;
    }
}
