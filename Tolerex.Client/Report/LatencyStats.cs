namespace Tolerex.Client.Report;

/// <summary>
/// Volume and latency of a set of CSV rows. Commands, bytes and latencies come from OK rows only (an ERROR
/// row's round trip measures the failure, not the service); errors is the Count of ERROR rows (a bulk's
/// ERROR row stands for all of its commands that were not acknowledged). Every latency figure
/// is weighted by Count, because one row stands for Count commands that each took RTT_us (a bulk row's
/// mean): the mean is Σ(RTT_us·Count)/ΣCount, and percentiles are nearest-rank over the commands.
/// </summary>
internal sealed record LatencyStats(
    int Rows,
    Int128 Commands,
    Int128 Errors,
    Int128 Bytes,
    double? MeanUs,
    long? MinUs,
    long? P50Us,
    long? P95Us,
    long? P99Us,
    long? P999Us,
    long? MaxUs)
{
    public static LatencyStats Of(IEnumerable<CsvRecord> rows)
    {
        var count = 0;
        Int128 errors = 0;
        Int128 commands = 0, bytes = 0;
        var weightedRtt = 0.0;
        var samples = new List<(long RttUs, long Count)>();
        foreach (var row in rows)
        {
            count++;
            if (!row.Ok)
            {
                errors += Math.Max(1, row.Count); // a row with Count 0 still records one failed command
                continue;
            }

            commands += row.Count;
            bytes += row.Bytes;
            if (row.Count <= 0)
                continue;
            // double: RTT·Count can exceed a long, and the mean needs no more than double precision.
            weightedRtt += (double)row.RttUs * row.Count;
            samples.Add((row.RttUs, row.Count));
        }

        if (samples.Count == 0)
            return new LatencyStats(count, commands, errors, bytes, null, null, null, null, null, null, null);
        samples.Sort((a, b) => a.RttUs.CompareTo(b.RttUs));
        return new LatencyStats(count, commands, errors, bytes, weightedRtt / (double)commands, samples[0].RttUs,
            Percentile(samples, commands, 50), Percentile(samples, commands, 95), Percentile(samples, commands, 99),
            Percentile(samples, commands, 99.9), samples[^1].RttUs);
    }

    /// <summary>Nearest-rank percentile (as the bench computes it) where each sample stands for Count commands.</summary>
    internal static long Percentile(IReadOnlyList<(long RttUs, long Count)> sortedByRtt, Int128 total, double percentile)
    {
        // The epsilon keeps 99.9 % of 1000 at rank 999 despite binary floating point.
        var rank = Math.Max(1.0, Math.Ceiling(percentile * (double)total / 100 - 1e-9));
        Int128 seen = 0;
        foreach (var (rtt, count) in sortedByRtt)
        {
            seen += count;
            if ((double)seen >= rank)
                return rtt;
        }

        return sortedByRtt[^1].RttUs;
    }
}
