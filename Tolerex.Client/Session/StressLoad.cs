using System.Diagnostics;
using System.Globalization;
using System.Text;
using Tolerex.Client.Terminal;
using Tolerex.Protocol.HaToKuSe;

namespace Tolerex.Client.Session;

/// <summary>
/// <c>--stress &lt;minutes&gt;</c>: until the time is up, picks uniformly among a SET, a GET and a bulk of 10–99
/// SETs, all on ids from this client's range. GETs ask for ids this run had acknowledged and check the value
/// so every GET can be checked; a wrong value or any ERROR counts as an error.
/// </summary>
internal static class StressLoad
{
    public static async Task<int> RunAsync(ClientSession session, TimeSpan duration, TextWriter log, CancellationToken cancellationToken)
    {
        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"Starting stress test for {duration.TotalMinutes:0.##} minutes..."));
        var random = new Random();
        // Acknowledged ids and the message each one holds, so GETs can check what they read.
        var stored = new List<(long Id, string Message)>();
        var clock = Stopwatch.StartNew();
        var operations = 0L;
        var lost = await ProgressDisplay.RunAsync(session.Options.Progress, "stress", duration.TotalSeconds, null, async progress =>
        {
            while (clock.Elapsed < duration)
            {
                operations++;
                switch (random.Next(3))
                {
                    case 0:
                        {
                            var id = session.NextId();
                            var message = string.Create(CultureInfo.InvariantCulture, $"stress_val_{id}");
                            var result = await session.RoundTripAsync(Line($"SET {id} {message}"), CommandKind.Set, message.Length, cancellationToken);
                            if (result is null)
                                return true;
                            if (result.Ok)
                                stored.Add((id, message));
                            break;
                        }

                    case 1 when stored.Count > 0:
                        {
                            var (id, expected) = stored[random.Next(stored.Count)];
                            var result = await session.RoundTripAsync(Line($"GET {id}"), CommandKind.Get, 0, cancellationToken,
                                lines => lines[0].AsSpan().SequenceEqual(Encoding.UTF8.GetBytes(expected)));
                            if (result is null)
                                return true;
                            if (!result.Ok)
                                await log.WriteLineAsync($"GET {id}: expected '{expected}', got '{Encoding.UTF8.GetString(result.Lines[0])}'");
                            break;
                        }

                    default:
                        {
                            var outcome = await session.BulkSetAsync(random.Next(10, 100), "stress_bulk"u8.ToArray(), suffixId: true, "BULK_SET", cancellationToken,
                                collectAckedIds: true, nested: true);
                            foreach (var id in outcome.AckedIds!)
                                stored.Add((id, string.Create(CultureInfo.InvariantCulture, $"stress_bulk_{id}")));
                            if (outcome.Lost)
                                return true;
                            break;
                        }
                }

                progress.Report(clock.Elapsed.TotalSeconds);
                progress.Describe(string.Create(CultureInfo.InvariantCulture, $"stress: {session.Acked} acknowledged, {session.Errors} errors"));
            }

            return false;
        });

        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"Stress test {(lost ? "stopped (no leader reachable)" : "completed")}: {operations} operations in {clock.Elapsed.TotalSeconds:0.0} s."));
        return lost || session.Errors > 0 ? 1 : 0;

        static byte[] Line(string text) => Encoding.UTF8.GetBytes(text);
    }
}
