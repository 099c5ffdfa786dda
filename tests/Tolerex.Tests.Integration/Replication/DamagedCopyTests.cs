using System.Text;
using Tolerex.Tests.Integration.Faults;

namespace Tolerex.Tests.Integration.Replication;

/// <summary>A copy whose bytes rot on a member's disk after it was stored is never served: the read fails there.</summary>
public sealed class DamagedCopyTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 240_000)]
    public async Task A_copy_damaged_on_disk_is_never_served()
    {
        await using var cluster = await ProcessCluster.StartAsync(3, new Dictionary<string, string>
        {
            ["Tolerex__Leader__Tolerance"] = "2",
            ["Tolerex__Leader__ReadTimeout"] = "00:00:02",
        });
        await using var c = await cluster.ConnectAsync();
        Assert.Equal("OK", await c.CommandAsync("SET 1 one-copy-rots-here"));
        Assert.Equal("OK", await c.CommandAsync("SET 2 both-copies-rot-here"));

        // One of id 1's two copies, and both of id 2's, get a flipped bit (the members keep running).
        Assert.Equal(2, await DamageAsync(cluster, "both-copies-rot-here", copies: 2));
        Assert.Equal(1, await DamageAsync(cluster, "one-copy-rots-here", copies: 1));

        for (var i = 0; i < 5; i++)
            Assert.Equal("one-copy-rots-here", await c.CommandAsync("GET 1"));
        // Both copies damaged: the value is lost, and the GET says so rather than serve the damaged bytes.
        Assert.Equal("ERROR: retrieve failed", await c.CommandAsync("GET 2"));
        Assert.Equal("PONG", await c.CommandAsync("PING"));
    }

    /// <summary>Flips a bit of <paramref name="value"/> in the log of up to <paramref name="copies"/> members; how many it found.</summary>
    private static async Task<int> DamageAsync(ProcessCluster cluster, string value, int copies)
    {
        var needle = Encoding.ASCII.GetBytes(value);
        var damaged = 0;
        foreach (var member in cluster.Members)
        {
            foreach (var path in Directory.GetFiles(member.DataDirectory, "*.seg", SearchOption.AllDirectories))
            {
                if (damaged == copies)
                    return damaged;
                var bytes = await File.ReadAllBytesAsync(path, Ct);
                var at = bytes.AsSpan().IndexOf(needle);
                if (at < 0)
                    continue;
                await using var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
                file.Position = at + 3;
                file.WriteByte((byte)(bytes[at + 3] ^ 0x04));
                damaged++;
            }
        }

        return damaged;
    }
}
