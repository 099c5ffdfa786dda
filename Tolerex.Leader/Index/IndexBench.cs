using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Consensus;
using Tolerex.Leader.Membership;
using Tolerex.ServiceDefaults.Identity;

namespace Tolerex.Leader.Index;

/// <summary>
/// <c>Tolerex.Leader bench-index</c>: durable index puts/s with concurrent writers, then recovery time and
/// memory per id for an index of many ids, from a snapshot plus the consensus log after it (docs/benchmarks.md).
/// </summary>
internal static class IndexBench
{
    public static Task<int> RunAsync(string[] args)
    {
        var dir = new Option<DirectoryInfo?>("--dir") { Description = "Where to write (kept afterwards); default: a temporary folder, removed" };
        var ids = new Option<long>("--ids") { Description = "Ids put into the index", DefaultValueFactory = _ => 1_000_000 };
        var writers = new Option<int>("--writers") { Description = "Concurrent writers", DefaultValueFactory = _ => 64 };
        var inFlight = new Option<int>("--entries-in-flight") { Description = "Index entries replicated at once (IndexEntriesInFlight)", DefaultValueFactory = _ => new LeaderOptions().IndexEntriesInFlight };
        inFlight.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1 or > 64) r.AddError("--entries-in-flight must be 1 to 64"); });
        ids.Validators.Add(r => { if (r.GetValueOrDefault<long>() < 10) r.AddError("--ids must be at least 10"); });
        writers.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) r.AddError("--writers must be at least 1"); });
        var command = new Command("bench-index", "Measures the leader's durable index: puts/s, then recovery time and memory per id.") { dir, ids, writers, inFlight };
        command.SetAction((parse, _) => RunAsync(parse.GetValue(dir), parse.GetValue(ids), parse.GetValue(writers), parse.GetValue(inFlight)));
        return new RootCommand { command }.Parse(args).InvokeAsync();
    }

    private static async Task<int> RunAsync(DirectoryInfo? keep, long ids, int writers, int entriesInFlight)
    {
        var dir = keep?.FullName ?? Path.Combine(Path.GetTempPath(), "tolerex-index-bench-" + Guid.NewGuid().ToString("N")[..8]);
        var options = Options.Create(new LeaderOptions { DataDir = dir, IndexEntriesInFlight = entriesInFlight });
        try
        {
            double putsPerSecond;
            using (var registry = new MemberRegistry(options, NodeTls.CreateEphemeral(PeerIdentity.Leader), NullLogger<MemberRegistry>.Instance))
            {
                var (group, machine, index) = await OpenAsync(options, registry);
                var members = new MemberNode[3];
                for (var m = 0; m < members.Length; m++)
                {
                    members[m] = registry.GetOrAdd($"localhost:{5556 + m}", $"member{m + 1}", index.RecordMemberAsync, out _);
                    await members[m].Recorded;
                }

                var clock = Stopwatch.StartNew();
                long next = 0;
                await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
                {
                    for (var id = Interlocked.Increment(ref next); id <= ids; id = Interlocked.Increment(ref next))
                    {
                        MemberNode[] replicas = [members[id % 3], members[(id + 1) % 3]];
                        await index.BeginWrite(id, id, replicas).CommitAsync(replicas);
                    }
                })));
                putsPerSecond = ids / clock.Elapsed.TotalSeconds;
                // Recovery below reads a snapshot plus a log tail, as after a long-running leader.
                await machine.SnapshotNowAsync();
                var tail = new List<Task<bool>>();
                for (var id = 1; id <= ids / 10; id++)
                {
                    MemberNode[] replicas = [members[id % 3], members[(id + 2) % 3]];
                    tail.Add(index.BeginWrite(id, ids + id, replicas).CommitAsync(replicas));
                }

                await Task.WhenAll(tail);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"puts: {ids} durable index puts, {writers} writers: {putsPerSecond:0} puts/s, {machine.AppliedIndex} consensus entries, {machine.Snapshots} snapshots"));
                await group.DisposeAsync();
            }

            GC.Collect();
            GC.WaitForPendingFinalizers();
            var before = GC.GetTotalMemory(forceFullCollection: true);
            var recoveryClock = Stopwatch.StartNew();
            using var recoveredRegistry = new MemberRegistry(options, NodeTls.CreateEphemeral(PeerIdentity.Leader), NullLogger<MemberRegistry>.Instance);
            var (recovered, _, recoveredIndex) = await OpenAsync(options, recoveredRegistry);
            var seconds = recoveryClock.Elapsed.TotalSeconds;
            var after = GC.GetTotalMemory(forceFullCollection: true);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"recovery: {recoveredIndex.Count} ids in {seconds:0.00} s, index memory {(after - before) / (double)recoveredIndex.Count:0} bytes per id"));
            await recovered.DisposeAsync();
            return recoveredIndex.Count == ids ? 0 : 1;
        }
        finally
        {
            if (keep is null)
                Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<(SoloGroup Group, IndexStateMachine Machine, MessageIndex Index)> OpenAsync(IOptions<LeaderOptions> options, MemberRegistry registry)
    {
        var map = new IndexMap();
        var machine = new IndexStateMachine(map, registry, options, NullLogger<IndexStateMachine>.Instance);
        var group = await SoloGroup.StartAsync(machine, options.Value);
        return (group, machine, new MessageIndex(map, group.Journal, machine, options, NullLogger<MessageIndex>.Instance));
    }
}
