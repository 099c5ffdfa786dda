using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Membership;
using Tolerex.ServiceDefaults.Identity;

namespace Tolerex.Leader.Index;

/// <summary>
/// <c>Tolerex.Leader bench-index</c>: durable index puts/s with concurrent writers, then recovery time and
/// memory per id for an index of many ids (checkpoint plus a log tail). Used for the README's figures.
/// </summary>
internal static class IndexBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        string Arg(string name, string fallback) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        var dir = Path.Combine(Path.GetTempPath(), "tolerex-index-bench-" + Guid.NewGuid().ToString("N")[..8]);
        var ids = long.Parse(Arg("--ids", "1000000"), CultureInfo.InvariantCulture);
        var writers = int.Parse(Arg("--writers", "64"), CultureInfo.InvariantCulture);
        var options = new LeaderOptions { DataDir = dir };
        try
        {
            double putsPerSecond;
            using (var registry = new MemberRegistry(options, NodeTls.CreateEphemeral(PeerIdentity.Leader), NullLogger<MemberRegistry>.Instance))
            {
                var index = new MessageIndex();
                var log = new IndexLog(index, registry, options, NullLogger<IndexLog>.Instance);
                log.Open();
                var members = new Member[3];
                for (var m = 0; m < members.Length; m++)
                {
                    members[m] = registry.GetOrAdd($"localhost:{5556 + m}", $"member{m + 1}", log.AddMemberAsync, out _);
                    await members[m].Recorded;
                }

                var clock = Stopwatch.StartNew();
                long next = 0;
                await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
                {
                    for (var id = Interlocked.Increment(ref next); id <= ids; id = Interlocked.Increment(ref next))
                        await log.PutAsync(id, id, [members[id % 3], members[(id + 1) % 3]]);
                })));
                putsPerSecond = ids / clock.Elapsed.TotalSeconds;
                // Recovery below reads a checkpoint plus a log tail, as after a long-running leader.
                await log.CheckpointNowAsync();
                for (var id = 1; id <= ids / 10; id++)
                    _ = log.PutAsync(id, ids + id, [members[id % 3], members[(id + 2) % 3]]);
                await log.PutAsync(0, 2 * ids, [members[0], members[1]]);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"puts: {ids} durable index puts, {writers} writers: {putsPerSecond:0} puts/s, {log.SyncCount} fsyncs, {log.Checkpoints} checkpoints"));
                await log.DisposeAsync();
            }

            GC.Collect();
            GC.WaitForPendingFinalizers();
            var before = GC.GetTotalMemory(forceFullCollection: true);
            var recoveryClock = Stopwatch.StartNew();
            using var recoveredRegistry = new MemberRegistry(options, NodeTls.CreateEphemeral(PeerIdentity.Leader), NullLogger<MemberRegistry>.Instance);
            var recoveredIndex = new MessageIndex();
            var recovered = new IndexLog(recoveredIndex, recoveredRegistry, options, NullLogger<IndexLog>.Instance);
            recovered.Open();
            var seconds = recoveryClock.Elapsed.TotalSeconds;
            var after = GC.GetTotalMemory(forceFullCollection: true);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"recovery: {recoveredIndex.Count} ids in {seconds:0.00} s, index memory {(after - before) / (double)recoveredIndex.Count:0} bytes per id"));
            await recovered.DisposeAsync();
            return recoveredIndex.Count == ids + 1 ? 0 : 1;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
