using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Tolerex.Storage;

namespace Tolerex.Member.Store;

/// <summary>
/// <c>Tolerex.Member bench-storage</c>: appends/s of the message store with concurrent writers, then recovery
/// time and index memory for a store of many ids (docs/benchmarks.md).
/// </summary>
internal static class StoreBench
{
    public static Task<int> RunAsync(string[] args)
    {
        var dir = new Option<DirectoryInfo?>("--dir") { Description = "Where to write (kept afterwards); default: a temporary folder, removed" };
        var records = new Option<long>("--records") { Description = "Records appended in the append test", DefaultValueFactory = _ => 200_000 };
        var writers = new Option<int>("--writers") { Description = "Concurrent writers in the append test", DefaultValueFactory = _ => 64 };
        var payload = new Option<int>("--payload") { Description = "Payload bytes per record", DefaultValueFactory = _ => 100 };
        var recoveryIds = new Option<long>("--recovery-ids") { Description = "Ids in the store whose recovery is timed", DefaultValueFactory = _ => 1_000_000 };
        var io = new Option<IoMode>("--io") { Description = "buffered (group commit) or unbuffered", DefaultValueFactory = _ => IoMode.Buffered };
        var durability = new Option<Durability>("--durability") { Description = "fsync or os", DefaultValueFactory = _ => Durability.Fsync };
        foreach (var option in new Option<long>[] { records, recoveryIds })
            option.Validators.Add(r => { if (r.GetValueOrDefault<long>() < 1) r.AddError($"{option.Name} must be at least 1"); });
        writers.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) r.AddError("--writers must be at least 1"); });
        payload.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 0 or > RecordLimit) r.AddError($"--payload must be between 0 and {RecordLimit}"); });

        var command = new Command("bench-storage", "Measures the member's message store: appends/s, then recovery time and memory per id.");
        foreach (var option in new Option[] { dir, records, writers, payload, recoveryIds, io, durability })
            command.Options.Add(option);
        command.SetAction((parse, _) => RunAsync(parse.GetValue(dir), parse.GetValue(records), parse.GetValue(writers), parse.GetValue(payload),
            parse.GetValue(recoveryIds), new MessageStoreOptions { Io = parse.GetValue(io), Durability = parse.GetValue(durability), CompactionMinBytes = long.MaxValue }));
        return new RootCommand { command }.Parse(args).InvokeAsync();
    }

    private const int RecordLimit = 64 * 1024 * 1024;

    private static async Task<int> RunAsync(DirectoryInfo? keep, long records, int writers, int payloadSize, long recoveryIds, MessageStoreOptions options)
    {
        var dir = keep?.FullName ?? Path.Combine(Path.GetTempPath(), "tolerex-bench-" + Guid.NewGuid().ToString("N")[..8]);
        var payload = new byte[payloadSize];
        Array.Fill(payload, (byte)'x');
        try
        {
            // 1. Appends with concurrent writers, as a member sees them under load.
            var appending = MessageStore.Open(Path.Combine(dir, "appends"), options, NullLogger.Instance);
            var clock = Stopwatch.StartNew();
            long next = 0;
            await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
            {
                for (var id = Interlocked.Increment(ref next); id <= records; id = Interlocked.Increment(ref next))
                    await appending.StoreAsync(id, id, payload);
            })));
            var appendsPerSecond = records / clock.Elapsed.TotalSeconds;
            await appending.DisposeAsync(); // in os mode, the syncs happen at the close
            var syncs = appending.Log.SyncCount;

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"appends: {records} records of {payloadSize} B, {writers} writers, io={options.Io}, durability={options.Durability}: {appendsPerSecond:0} appends/s, {syncs} syncs ({records / (double)Math.Max(1, syncs):0.0} records per sync)"));

            // 2. Recovery of a store holding many ids (written without per-record sync to build it quickly).
            var recoveryDir = Path.Combine(dir, "recovery");
            var unsynced = new MessageStoreOptions { Io = options.Io, Durability = Durability.Os, CompactionMinBytes = long.MaxValue };
            await using (var store = MessageStore.Open(recoveryDir, unsynced, NullLogger.Instance))
            {
                const int batch = 10_000;
                for (long start = 1; start <= recoveryIds; start += batch)
                {
                    var pending = new List<Task<long>>(batch);
                    for (var id = start; id < start + batch && id <= recoveryIds; id++)
                        pending.Add(store.StoreAsync(id, id, payload));
                    await Task.WhenAll(pending);
                }
            }

            GC.Collect();
            GC.WaitForPendingFinalizers();
            var before = GC.GetTotalMemory(forceFullCollection: true);
            var recoveryClock = Stopwatch.StartNew();
            var recovered = MessageStore.Open(recoveryDir, options, NullLogger.Instance);
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
            if (keep is null)
                Directory.Delete(dir, recursive: true);
        }
    }
}
