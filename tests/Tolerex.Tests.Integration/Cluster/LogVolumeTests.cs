using System.Diagnostics;
using System.Text;

namespace Tolerex.Tests.Integration.Cluster;

/// <summary>Repeated warnings are summarised, so a burst of failing requests cannot bury the rest of the log.</summary>
public sealed class LogVolumeTests
{
    [Fact(Timeout = 120_000)]
    public async Task A_burst_of_refused_sets_writes_a_bounded_number_of_lines()
    {
        // No member ever registers: every SET is refused at once, with a warning.
        await using var leader = await StandaloneLeader.StartAsync(new Dictionary<string, string> { ["TOLERANCE"] = "1" });
        var before = leader.Process.Output.Split('\n').Length;
        const int sets = 20_000;
        var clock = Stopwatch.StartNew();
        await using (var c = await HaToKuSeConnection.OpenAsync("localhost", leader.Port))
        {
            var batch = new StringBuilder();
            for (var i = 0; i < sets; i++)
                batch.Append($"SET {i} refused\r\n");
            await c.SendAsync(batch.ToString());
            for (var i = 0; i < sets; i++)
                Assert.Equal("ERROR: store failed", await c.ReadLineAsync());
        }

        var seconds = clock.Elapsed.TotalSeconds;
        var lines = leader.Process.Output.Split('\n')[before..];
        var warnings = lines.Count(l => l.Contains("Not enough alive members", StringComparison.Ordinal));
        // One summary line a second at most (plus the first), each counting what it held back.
        Assert.InRange(warnings, 1, (int)Math.Ceiling(seconds) + 2);
        Assert.True(lines.Length < 10 * (seconds + 2), $"{lines.Length} lines in {seconds:0.0} s");
        Assert.Contains(lines, l => l.Contains("more held back", StringComparison.Ordinal));
    }
}
