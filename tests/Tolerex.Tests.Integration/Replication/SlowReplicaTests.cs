using System.Diagnostics;
using Google.Protobuf;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Membership;
using Tolerex.Leader.Replication;
using Tolerex.Protocol.V1;
using Tolerex.Tests.Integration.Faults;

namespace Tolerex.Tests.Integration.Replication;

/// <summary>
/// GETs against two real members behind fault proxies: a replica that is merely slow is waited for (and
/// hedged around), and <c>ERROR: retrieve failed</c> comes only once the whole read deadline has passed.
/// </summary>
public sealed class SlowReplicaTests : IAsyncLifetime
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(4);
    private readonly InProcessLeader _leader = new(new LeaderOptions
    {
        Tolerance = 2,
        ReadTimeout = ReadTimeout,
        ReadAttemptTimeout = TimeSpan.FromSeconds(1),
        ReadHedgeDelay = TimeSpan.FromMilliseconds(50),
        ValueCacheBytes = 0, // reads here test slow members, not the leader's memory
    });

    private readonly Dictionary<MemberNode, FaultProxy> _proxies = [];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        for (var i = 0; i < 2; i++)
        {
            FaultProxy? proxy = null;
            var (_, member) = await _leader.StartMemberAsync($"member{i}", new MemberLoad(), port => (proxy = FaultProxy.Start(port)).Port);
            _proxies[member] = proxy!;
        }

        Assert.True(await _leader.Coordinator.SetAsync(1, ByteString.CopyFromUtf8("held by both")));
    }

    /// <summary>The proxies of id 1's replicas, in the order a GET asks them.</summary>
    private FaultProxy[] Replicas()
    {
        Assert.True(_leader.Index.TryGet(1, out var entry));
        return [.. entry.Replicas.Select(r => _proxies[r])];
    }

    private async Task<(ReadResult Read, TimeSpan Took)> GetAsync()
    {
        var clock = Stopwatch.StartNew();
        var read = await _leader.Coordinator.GetAsync(1).AsTask().WaitAsync(TimeSpan.FromSeconds(30), Ct);
        return (read, clock.Elapsed);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_get_whose_replicas_are_all_slower_than_an_attempt_still_reads_the_value()
    {
        // Busy members: every answer takes at least 1.6 s, more than the first attempt's deadline (1 s).
        foreach (var proxy in _proxies.Values)
            proxy.Latency = TimeSpan.FromMilliseconds(800);

        var (read, took) = await GetAsync();

        Assert.Equal((ReadStatus.Found, "held by both"), (read.Status, read.Payload?.ToStringUtf8()));
        Assert.True(took > TimeSpan.FromSeconds(1.6) && took < ReadTimeout, $"took {took}");
    }

    [Fact(Timeout = 120_000)]
    public async Task A_get_whose_first_replica_is_slow_is_answered_by_the_second_without_waiting_for_the_first()
    {
        Replicas()[0].Latency = TimeSpan.FromSeconds(2);

        var (read, took) = await GetAsync();

        Assert.Equal((ReadStatus.Found, "held by both"), (read.Status, read.Payload?.ToStringUtf8()));
        // Without hedging the first attempt alone would take its whole deadline (1 s).
        Assert.True(took < TimeSpan.FromMilliseconds(900), $"took {took}: the second replica should have been asked after the hedge delay");
    }

    [Fact(Timeout = 120_000)]
    public async Task A_get_answers_an_error_only_once_the_whole_read_deadline_has_passed()
    {
        foreach (var proxy in _proxies.Values)
            proxy.Blackhole = Direction.Both;

        var (read, took) = await GetAsync();

        Assert.Equal(ReadStatus.Unavailable, read.Status);
        Assert.True(took >= ReadTimeout - TimeSpan.FromMilliseconds(100) && took < ReadTimeout + TimeSpan.FromSeconds(2), $"took {took}");

        // Healed, the same read succeeds at once.
        foreach (var proxy in _proxies.Values)
            proxy.Heal();
        Assert.Equal(ReadStatus.Found, (await GetAsync()).Read.Status);
    }

    public async ValueTask DisposeAsync()
    {
        await _leader.DisposeAsync();
        foreach (var proxy in _proxies.Values)
            await proxy.DisposeAsync();
    }
}
