using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Tolerex.Protocol.Storage;

namespace Tolerex.Member.Storage;

/// <summary>
/// <c>Tolerex.Member bench-storage</c>: appends/s of the log store with concurrent writers, then recovery
/// time and index memory for a log of many ids. Used for the README's storage figures.
/// </summary>
internal static class StorageBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        string Arg(string name, string fallback) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        var dir = Arg("--dir", Path.Combine(Path.GetTempPath(), "tolerex-bench-" + Guid.NewGuid().ToString("N")[..8]));
        var records = long.Parse(Arg("--records", "200000"), CultureInfo.InvariantCulture);
        var writers = int.Parse(Arg("--writers", "64"), CultureInfo.InvariantCulture);
        var payloadSize = int.Parse(Arg("--payload", "100"), CultureInfo.InvariantCulture);
        var recoveryIds = long.Parse(Arg("--recovery-ids", "1000000"), CultureInfo.InvariantCulture);
        var io = Arg("--io", "buffered") == "unbuffered" ? IoMode.Unbuffered : IoMode.Buffered;
        var durability = Arg("--durability", "fsync") == "os" ? Durability.Os : Durability.Fsync;
        var payload = new byte[payloadSize];
        Array.Fill(payload, (byte)'x');

        try
        {
            // 1. Appends with concurrent writers, as a member sees them under load.
            var options = new LogStoreOptions { Io = io, Durability = durability, CompactionMinBytes = long.MaxValue };
            double appendsPerSecond;
            long syncs;
            await using (var store = LogStore.Open(Path.Combine(dir, "appends"), options, NullLogger<LogStore>.Instance))
            {
                var clock = Stopwatch.StartNew();
                long next = 0;
                await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
                {
                    for (var id = Interlocked.Increment(ref next); id <= records; id = Interlocked.Increment(ref next))
                        await store.StoreAsync(id, id, payload, CancellationToken.None);
                })));
                appendsPerSecond = records / clock.Elapsed.TotalSeconds;
                syncs = store.SyncCount;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"appends: {records} records of {payloadSize} B, {writers} writers, io={io}, durability={durability}: {appendsPerSecond:0} appends/s, {syncs} syncs ({records / (double)Math.Max(1, syncs):0.0} records per sync)"));

            // 2. Recovery of a log holding many ids (written without per-record sync to build it quickly).
            var recoveryDir = Path.Combine(dir, "recovery");
            await using (var store = LogStore.Open(recoveryDir, options with { Durability = Durability.Os }, NullLogger<LogStore>.Instance))
            {
                const int batch = 10_000;
                for (long start = 1; start <= recoveryIds; start += batch)
                {
                    var pending = new List<Task<long>>(batch);
                    for (var id = start; id < start + batch && id <= recoveryIds; id++)
                        pending.Add(store.StoreAsync(id, id, payload, CancellationToken.None).AsTask());
                    await Task.WhenAll(pending);
                }
            }

            GC.Collect();
            GC.WaitForPendingFinalizers();
            var before = GC.GetTotalMemory(forceFullCollection: true);
            var recoveryClock = Stopwatch.StartNew();
            var recovered = LogStore.Open(recoveryDir, options, NullLogger<LogStore>.Instance);
            var recoverySeconds = recoveryClock.Elapsed.TotalSeconds;
            var after = GC.GetTotalMemory(forceFullCollection: true);
            var ids = recovered.Stats.MessagesHeld;
            await recovered.DisposeAsync();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"recovery: {ids} ids in {recoverySeconds:0.00} s, index memory {(after - before) / (double)ids:0} bytes per id"));
            return ids == recoveryIds ? 0 : 1;
        }
        finally
        {
            if (Array.IndexOf(args, "--dir") < 0)
                Directory.Delete(dir, recursive: true);
        }
    }
}
