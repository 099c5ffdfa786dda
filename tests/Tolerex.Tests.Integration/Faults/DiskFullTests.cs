using System.Diagnostics;

namespace Tolerex.Tests.Integration.Faults;

/// <summary>
/// A member whose data directory sits on a small file system (a tmpfs the test mounts) runs out of space:
/// it refuses copies with a clear error, the leader moves them to other members, nothing on its disk is
/// damaged, and once space is freed it stores again without a restart.
/// </summary>
public sealed class DiskFullTests : IAsyncLifetime
{
    private readonly string _mount = Directory.CreateTempSubdirectory("tolerex-small-disk-").FullName;
    private bool _mounted;

    public async ValueTask InitializeAsync()
    {
        if (Environment.UserName != "root")
            Assert.Skip("mounting a small file system needs root (CI runs as root)");
        Assert.Equal(0, await RunAsync("mount", "-t", "tmpfs", "-o", "size=16m", "tolerex-test", _mount));
        _mounted = true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_mounted)
            await RunAsync("umount", "-l", _mount);
        Directory.Delete(_mount, recursive: true);
    }

    private static async Task<int> RunAsync(string file, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true })!;
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return process.ExitCode;
    }

    /// <summary>Writes zeros into <paramref name="path"/> until the file system has no space left.</summary>
    private static void FillUp(string path)
    {
        using var filler = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
        foreach (var size in new[] { 64 * 1024, 4096, 512 })
        {
            var chunk = new byte[size];
            try
            {
                while (true)
                    filler.Write(chunk);
            }
            catch (IOException)
            {
                // full, to within this chunk size
            }
        }
    }

    [Fact(Timeout = 240_000)]
    public async Task A_full_member_refuses_copies_that_move_elsewhere_and_stores_again_once_space_is_freed()
    {
        await using var cluster = await ProcessCluster.StartAsync(3,
            new Dictionary<string, string> { ["Tolerex__Leader__Tolerance"] = "2", ["Tolerex__Leader__ReplaceAfter"] = "1h" },
            memberSettings: new Dictionary<string, string> { ["Tolerex__Member__PreallocateBytes"] = "65536" },
            dataDirectoryOf: i => i == 0 ? Path.Combine(_mount, "member0") : null);
        var full = cluster.Members[0];
        var written = new Dictionary<long, string>();
        var value = new string('x', 8 * 1024);
        await using var c = await cluster.ConnectAsync();
        async Task WriteAsync(long first, int count)
        {
            for (var id = first; id < first + count; id++)
            {
                var text = $"{id}-{value}";
                Assert.Equal("OK", await c.CommandAsync($"SET {id} {text}"));
                written[id] = text;
            }
        }

        await WriteAsync(1, 50);
        Assert.True(await full.MessagesAsync() > 0);

        var filler = Path.Combine(_mount, "filler");
        FillUp(filler);
        // Every SET still succeeds: the copies the full member refuses go to the other two. (It may take a few
        // more first, into space its log had allocated ahead.)
        await WriteAsync(1000, 200);
        await full.Process.WaitForOutputAsync("No space left on device", TimeSpan.FromSeconds(30));
        await cluster.Leader.WaitForOutputAsync("could not store", TimeSpan.FromSeconds(30));
        var whileFull = await full.MessagesAsync();
        await WriteAsync(2000, 200);
        Assert.Equal(whileFull, await full.MessagesAsync());

        File.Delete(filler);
        await cluster.HoldsAsync(async () =>
        {
            await WriteAsync(written.Keys.Max() + 1, 20);
            return await full.MessagesAsync() > whileFull;
        }, TimeSpan.FromSeconds(60), "the member storing again once space was freed");
        foreach (var (id, text) in written)
            Assert.Equal(text, await c.CommandAsync($"GET {id}"));

        // Nothing on its disk was damaged: after a kill -9 it recovers every copy it had, with no damaged record.
        var held = await full.MessagesAsync();
        await full.KillAsync();
        await cluster.WaitForAliveAsync(2);
        await full.RestartAsync();
        await cluster.WaitForAliveAsync(3);
        await full.Process.WaitForOutputAsync($"{held} ids held, 0 damaged records found", TimeSpan.FromSeconds(30));
    }
}
