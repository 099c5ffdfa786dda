using System.Diagnostics;
using Google.Protobuf;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Replication;
using Tolerex.Leader.Telemetry;
using Tolerex.Protocol.V1;
using Tolerex.Tests.Integration.Faults;

namespace Tolerex.Tests.Integration.Replication;

/// <summary>
/// The leader's value cache (on by default) with real members behind fault proxies: a GET of a value the leader
/// wrote is answered from its memory, and never with a value the index no longer names.
/// </summary>
public sealed class ValueCacheReadTests : IAsyncLifetime
{
    private readonly InProcessLeader _leader = new(new LeaderOptions { Tolerance = 2, ReadTimeout = TimeSpan.FromSeconds(2), ReadAttemptTimeout = TimeSpan.FromSeconds(1) });
    private readonly List<FaultProxy> _proxies = [];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        for (var i = 0; i < 2; i++)
            await _leader.StartMemberAsync($"member{i}", new MemberLoad(), port => { var proxy = FaultProxy.Start(port); _proxies.Add(proxy); return proxy.Port; });
    }

    [Fact(Timeout = 120_000)]
    public async Task A_written_value_is_read_from_memory_and_a_deleted_or_rewritten_one_never_is()
    {
        Assert.True(await _leader.Coordinator.SetAsync(1, ByteString.CopyFromUtf8("first")));

        // Every replica cut off: the value the leader acknowledged still reads back at once, from its memory.
        foreach (var proxy in _proxies)
            proxy.Blackhole = Direction.Both;
        var hits = LeaderMetrics.ValueCacheHits;
        var clock = Stopwatch.StartNew();
        var read = await _leader.Coordinator.GetAsync(1).AsTask().WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.Equal((ReadStatus.Found, "first"), (read.Status, read.Payload?.ToStringUtf8()));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"took {clock.Elapsed}: no member should have been asked");
        Assert.True(LeaderMetrics.ValueCacheHits > hits, "tolerex_leader_value_cache_hits_total counts it");

        foreach (var proxy in _proxies)
            proxy.Heal();
        Assert.True(await _leader.Coordinator.DeleteAsync(1));
        Assert.Equal(ReadStatus.NotFound, (await _leader.Coordinator.GetAsync(1)).Status);
        Assert.Equal(0, _leader.Coordinator.Cache.Count);

        Assert.True(await _leader.Coordinator.SetAsync(1, ByteString.CopyFromUtf8("second")));
        Assert.True(await _leader.Coordinator.SetAsync(1, ByteString.CopyFromUtf8("third")));
        Assert.Equal("third", (await _leader.Coordinator.GetAsync(1)).Payload?.ToStringUtf8());
        Assert.Equal(1, _leader.Coordinator.Cache.Count);
    }

    public async ValueTask DisposeAsync()
    {
        await _leader.DisposeAsync();
        foreach (var proxy in _proxies)
            await proxy.DisposeAsync();
    }
}
