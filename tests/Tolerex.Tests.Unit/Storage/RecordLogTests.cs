using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Tolerex.Storage;
using Tolerex.Storage.Files;
using Tolerex.Storage.Log;

namespace Tolerex.Tests.Unit.Storage;

/// <summary>The log engine itself: framing, group commit, segments, checkpoints and recovery after crashes.</summary>
public sealed class RecordLogTests : IDisposable
{
    private static readonly RecordFormat Format = new((byte)'T', (byte)'T');
    private readonly string _dir = Directory.CreateTempSubdirectory("tolerex-log-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>What recovery handed over, in order: (segment, key, version, payload).</summary>
    private sealed record Recovered(List<(int Segment, long Key, long Version, string Payload)> Records)
    {
        /// <summary>The newest payload per key, as a layer applying records in order would hold it.</summary>
        public Dictionary<long, string> Latest() => Records.GroupBy(r => r.Key).ToDictionary(g => g.Key, g => g.Last().Payload);
    }

    private (RecordLog Log, Recovered Recovered) Open(IStorageFileSystem? fs = null, long segmentBytes = 64 * 1024 * 1024, IoMode io = IoMode.Buffered)
    {
        var recovered = new Recovered([]);
        var log = RecordLog.Open(_dir, new RecordLogOptions
        {
            Format = Format,
            SegmentSuffix = ".log",
            SegmentBytes = segmentBytes,
            Io = io,
            FileSystem = fs ?? PhysicalFileSystem.Instance,
        }, NullLogger.Instance, (in LogRecord r, RecordPosition p) =>
            recovered.Records.Add((p.Segment, r.Key, r.Version, Encoding.UTF8.GetString(r.Payload.Span))));
        return (log, recovered);
    }

    /// <summary>Appends a record and completes once it is durable, with its position.</summary>
    private static Task<RecordPosition> AppendAsync(RecordLog log, long key, string payload)
    {
        var append = new Append(new LogRecord(1, key, key, Encoding.UTF8.GetBytes(payload)));
        log.Append(append);
        return append.Done.Task;
    }

    private sealed class Append(LogRecord record) : LogAppend(record)
    {
        public TaskCompletionSource<RecordPosition> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override void Completed(RecordPosition? position) => Done.TrySetResult(position!.Value);

        protected override void Failed(Exception error) => Done.TrySetException(error);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_data_directory_is_used_by_one_log_at_a_time()
    {
        var (log, _) = Open();
        var second = Assert.Throws<IOException>(() => Open());
        Assert.Contains("in use by another process", second.Message, StringComparison.Ordinal);
        await log.DisposeAsync();
        var (reopened, _) = Open(); // released by the close
        await reopened.DisposeAsync();
    }

    [Fact]
    public void The_checksum_is_crc32c()
    {
        // The CRC-32C check value of "123456789" (RFC 3720).
        Assert.Equal(0xE3069283u, RecordFrame.Checksum("123456789"u8));
    }

    [Theory(Timeout = 60_000)]
    [InlineData(IoMode.Buffered)]
    [InlineData(IoMode.Unbuffered)]
    public async Task Records_come_back_in_order_and_payloads_are_read_at_their_positions(IoMode io)
    {
        var (log, _) = Open(io: io);
        var positions = await Task.WhenAll(Enumerable.Range(1, 100).Select(i => AppendAsync(log, i, $"payload {i}")));
        for (var i = 1; i <= 100; i++)
            Assert.Equal($"payload {i}", Encoding.UTF8.GetString((await log.ReadPayloadAsync(positions[i - 1], $"payload {i}".Length, Ct))!));
        await log.DisposeAsync();

        var (reopened, recovered) = Open(io: io);
        Assert.Equal(positions.OrderBy(p => p.Offset).Select(p => p.Offset), recovered.Records.Select((_, i) => positions.OrderBy(p => p.Offset).ElementAt(i).Offset));
        Assert.Equal(100, recovered.Latest().Count);
        Assert.Equal(0, reopened.CorruptRecords);
        await reopened.DisposeAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task A_roll_splits_the_queue_records_before_go_below_the_new_segment_and_after_at_or_above()
    {
        var (log, _) = Open();
        var before = AppendAsync(log, 1, "before");
        var roll = log.RollAsync();
        var after = AppendAsync(log, 2, "after");
        var first = await roll;
        Assert.True((await before).Segment < first);
        Assert.Equal(first, (await after).Segment);
        Assert.Equal([(await before).Segment], log.SealedSegments);
        await log.DisposeAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task Recovery_replays_the_checkpoint_then_the_segments_it_does_not_cover()
    {
        var (log, _) = Open();
        for (var i = 1; i <= 10; i++)
            await AppendAsync(log, i, $"old {i}");
        var first = await log.RollAsync();
        await AppendAsync(log, 3, "tail 3");
        log.WriteCheckpoint(first, Enumerable.Range(1, 10).Select(i => new LogRecord(1, i, i, Encoding.UTF8.GetBytes($"snapshot {i}"))));
        Assert.Equal(first, Assert.Single(Directory.GetFiles(_dir, "*.log").Select(f => int.Parse(Path.GetFileNameWithoutExtension(f)))));
        await log.DisposeAsync();

        var (reopened, recovered) = Open();
        Assert.Equal(11, recovered.Records.Count);
        Assert.All(recovered.Records.Take(10), r => Assert.Equal(0, r.Segment)); // checkpoint records first
        Assert.Equal((first, 3L, "tail 3"), (recovered.Records[^1].Segment, recovered.Records[^1].Key, recovered.Records[^1].Payload));
        Assert.Equal("tail 3", recovered.Latest()[3]);
        Assert.Equal("snapshot 4", recovered.Latest()[4]);
        await reopened.DisposeAsync();
    }

    /// <summary>
    /// Appends, segment rolls, a checkpoint and more appends, crashed before each of its file-system changes in
    /// turn (<see cref="CrashableFileSystem.CrashBefore"/>): after every crash, every acknowledged record is
    /// recovered with its payload, and nothing that was never written appears.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task Every_acknowledged_record_survives_a_crash_at_every_point()
    {
        var points = 0;
        for (var crashAt = 1; ; crashAt++)
        {
            var fs = new CrashableFileSystem { HaltOnCrash = true };
            fs.CrashBefore(crashAt);
            var acked = new Dictionary<long, string>();
            var crashed = false;
            RecordLog? log = null;
            try
            {
                (log, _) = Open(fs, segmentBytes: 512);
                for (var i = 1; i <= 40; i++)
                {
                    await AppendAsync(log, i, $"v1 {i}");
                    acked[i] = $"v1 {i}";
                }

                var first = await log.RollAsync();
                log.WriteCheckpoint(first, acked.Select(a => new LogRecord(1, a.Key, a.Key, Encoding.UTF8.GetBytes(a.Value))));
                for (var i = 1; i <= 10; i++)
                {
                    await AppendAsync(log, i, $"v2 {i}");
                    acked[i] = $"v2 {i}";
                }
            }
            catch (IOException)
            {
                crashed = true;
            }

            try
            {
                if (log is not null)
                    await log.DisposeAsync();
            }
            catch (IOException)
            {
            }

            fs.Restart();
            var (reopened, recovered) = Open(fs, segmentBytes: 512);
            var latest = recovered.Latest();
            foreach (var (key, payload) in acked)
                Assert.True(latest.TryGetValue(key, out var got) && (got == payload || got == $"v2 {key}"), $"crash before change {crashAt}: key {key} is '{got}', acknowledged '{payload}'");
            Assert.All(latest, r => Assert.True(r.Key is >= 1 and <= 40, $"crash before change {crashAt}: key {r.Key} was never written"));
            await reopened.DisposeAsync();
            if (!crashed)
                break;
            points++;
        }

        Assert.True(points > 50, $"only {points} crash points");
    }
}
