using Google.Protobuf;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Index;
using Tolerex.Leader.Membership;
using Tolerex.Leader.Replication;
using Tolerex.Leader.Telemetry;
using Tolerex.Protocol.V1;

namespace Tolerex.Tests.Integration.Replication;

/// <summary>
/// The leader's SET/GET paths against two real member processes and one address where nothing listens,
/// made the most attractive placement target on purpose.
/// </summary>
public sealed class ReplicaSubstitutionTests : IAsyncLifetime
{
    // Reads here test the members (failover, fallback): the leader's value cache is off.
    private readonly InProcessLeader _leader = new(new LeaderOptions
    {
        Tolerance = 2,
        StoreTimeout = TimeSpan.FromSeconds(2),
        ReadAttemptTimeout = TimeSpan.FromSeconds(1),
        ValueCacheBytes = 0,
    });
    private readonly List<NodeProcess> _members = [];
    private MemberNode _dead = null!;

    private LeaderOptions _options => _leader.Options;
    private MemberRegistry _registry => _leader.Registry;
    private MessageIndex _index => _leader.Index;
    private ReplicationCoordinator _coordinator => _leader.Coordinator;

    private Task<MemberNode> RegisterAsync(string address, string name, MemberLoad load) => _leader.RegisterAsync(address, name, load);

    public async ValueTask InitializeAsync()
    {
        // Lowest load and lowest address: least_loaded picks it first for every SET.
        _dead = await RegisterAsync($"127.0.0.1:{NodeProcess.FreePort()}", "dead", new MemberLoad());
        for (var i = 0; i < 2; i++)
            await StartMemberAsync($"live{i}", new MemberLoad { MessagesHeld = 1000 });
    }

    private async Task<(NodeProcess Process, MemberNode Member)> StartMemberAsync(string name, MemberLoad load)
    {
        var started = await _leader.StartMemberAsync(name, load);
        _members.Add(started.Process);
        return started;
    }

    [Fact(Timeout = 180_000)]
    public async Task A_copy_aimed_at_an_unreachable_member_moves_to_another_and_the_set_is_acknowledged()
    {
        Assert.True(await _coordinator.SetAsync(42, ByteString.CopyFromUtf8("moved")));

        Assert.True(_index.TryGet(42, out var entry));
        Assert.Equal(2, entry.Replicas.Length);
        Assert.DoesNotContain(_dead, entry.Replicas);
        Assert.False(_dead.Alive); // marked down at once, not after heartbeat timeout
        var read = await _coordinator.GetAsync(42);
        Assert.Equal((ReadStatus.Found, "moved"), (read.Status, read.Payload!.ToStringUtf8()));
    }

    /// <summary>
    /// A third live member, least loaded, so it takes a copy of every SET; its store stream is opened by a
    /// first SET of <paramref name="id"/>, then the process is frozen (SIGSTOP) while <paramref name="whileFrozen"/>
    /// runs: the connection stays up, nothing is ever answered.
    /// </summary>
    private async Task WhileAMemberIsFrozenAsync(long id, Func<MemberNode, Task> whileFrozen)
    {
        var (frozen, member) = await StartMemberAsync("frozen", new MemberLoad());
        // A fresh process may miss the store timeout with its first copy on a busy machine (the copy then moves
        // elsewhere); it stays the least loaded, so the next SET of the id tries it again.
        await Eventually.HoldsAsync(async () => await _coordinator.SetAsync(id, ByteString.CopyFromUtf8("before"))
            && _index.TryGet(id, out var first) && first.Replicas.Contains(member), TimeSpan.FromSeconds(60), $"a copy of id {id} stored on the new member");
        frozen.Freeze(true);
        try
        {
            await whileFrozen(member);
        }
        finally
        {
            frozen.Freeze(false);
        }
    }

    [Fact(Timeout = 180_000)]
    public Task A_copy_on_a_member_that_stops_answering_moves_to_another_after_the_store_timeout() =>
        WhileAMemberIsFrozenAsync(50, async member =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            Assert.True(await _coordinator.SetAsync(51, ByteString.CopyFromUtf8("after")).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
            // After the store timeout, not before it, and not only when HTTP/2 keep-alive gives up (15 s).
            Assert.True(clock.Elapsed >= _options.StoreTimeout - TimeSpan.FromMilliseconds(200) && clock.Elapsed < _options.StoreTimeout + TimeSpan.FromSeconds(4),
                $"answered after {clock.Elapsed}");
            Assert.True(_index.TryGet(51, out var entry));
            Assert.Equal(2, entry.Replicas.Length);
            Assert.DoesNotContain(member, entry.Replicas);
            var read = await _coordinator.GetAsync(51);
            Assert.Equal((ReadStatus.Found, "after"), (read.Status, read.Payload!.ToStringUtf8()));
        });

    [Fact(Timeout = 180_000)]
    public async Task One_set_is_one_trace_with_a_span_per_copy_and_the_batch_call_under_it()
    {
        var spans = new System.Collections.Concurrent.ConcurrentBag<System.Diagnostics.Activity>();
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = source => source.Name == "Tolerex.Leader",
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);
        using var source = new System.Diagnostics.ActivitySource("Tolerex.Tests.Trace");
        using var traceListener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = s => s.Name == source.Name,
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
        };
        System.Diagnostics.ActivitySource.AddActivityListener(traceListener);

        System.Diagnostics.ActivityTraceId trace;
        System.Diagnostics.ActivitySpanId set;
        using (var root = source.StartActivity("SET"))
        {
            trace = root!.TraceId;
            set = root.SpanId;
            Assert.True(await _coordinator.SetAsync(45, ByteString.CopyFromUtf8("traced")));
        }

        // A copy span per member tried — the dead first choice (failed) and the two that stored it — all under the SET.
        var copies = spans.Where(a => a.TraceId == trace && a.OperationName == "store copy").ToList();
        Assert.Equal(3, copies.Count);
        Assert.All(copies, c => Assert.Equal(set, c.ParentSpanId));
        Assert.Single(copies, c => c.Status == System.Diagnostics.ActivityStatusCode.Error && (string?)c.GetTagItem("tolerex.member") == "dead");
        // Every copy that reached a member is carried by a StoreBatch call in the SET's trace or linked from it.
        var batches = spans.Where(a => a.OperationName == "StoreBatch"
            && (a.TraceId == trace || a.Links.Any(l => l.Context.TraceId == trace))).ToList();
        Assert.True(batches.Count >= 2, $"{batches.Count} batch calls traced");
        Assert.Contains(batches, b => b.TraceId == trace && copies.Any(c => c.SpanId == b.ParentSpanId));
    }

    private Task<IndexMap> RecoverIndexAsync() => _leader.RecoverIndexAsync();

    /// <summary>Indexes a version of <paramref name="id"/> whose copies were never stored, as recovery brings back a SET cut short.</summary>
    private Task<bool> IndexWithoutCopiesAsync(long id, long version, MemberNode[] replicas) =>
        _index.BeginWrite(id, version, replicas).CommitAsync(replicas);

    [Fact(Timeout = 180_000)]
    public async Task A_moved_copy_is_named_by_the_durable_index_not_only_in_memory()
    {
        // The SET's record names its first placement (the dead member); the acknowledgement waits for a second
        // record that names the substitute.
        Assert.True(await _coordinator.SetAsync(46, ByteString.CopyFromUtf8("moved")));
        Assert.True((await RecoverIndexAsync()).TryGet(46, out var entry));
        Assert.Equal(2, entry.Replicas.Length);
        Assert.DoesNotContain(_dead, entry.Replicas);
    }

    [Fact(Timeout = 180_000)]
    public async Task A_read_of_a_version_no_replica_holds_falls_back_to_the_newest_acknowledged_one()
    {
        // A SET's index record is durable before its copies are stored; after a crash mid-SET (or a failed
        // SET) recovery brings back a record whose copies do not exist. Such a record is made here directly.
        Assert.True(await _coordinator.SetAsync(60, ByteString.CopyFromUtf8("acknowledged")));
        Assert.True(_index.TryGet(60, out var entry));
        Assert.True(await IndexWithoutCopiesAsync(60, entry.Version + 1_000, entry.Replicas));
        var fallbacks = LeaderMetrics.ReadFallbacks;
        var read = await _coordinator.GetAsync(60);
        Assert.Equal((ReadStatus.Found, "acknowledged"), (read.Status, read.Payload!.ToStringUtf8()));
        Assert.True(LeaderMetrics.ReadFallbacks > fallbacks, "tolerex_leader_read_fallbacks_total counts the fallback");

        // A fresh id whose only SET never stored anything: no member holds it, and only the dead one (fewer
        // than Tolerance) is silent, so it does not exist.
        var live = _registry.All.Where(m => m != _dead).ToArray();
        Assert.True(await IndexWithoutCopiesAsync(61, entry.Version + 2_000, live));
        Assert.Equal(ReadStatus.NotFound, (await _coordinator.GetAsync(61)).Status);

        // With Tolerance members silent, the holders of an acknowledged version may be among them: no answer.
        await RegisterAsync($"127.0.0.1:{NodeProcess.FreePort()}", "dead2", new MemberLoad());
        Assert.Equal(ReadStatus.Unavailable, (await _coordinator.GetAsync(61)).Status);
    }

    [Fact(Timeout = 180_000)]
    public async Task A_get_that_finds_the_copies_deleted_under_it_answers_not_found_not_an_older_copy_elsewhere()
    {
        // A third member holds an older copy the index does not name (a substitution's leftover, say).
        var (_, third) = await StartMemberAsync("live2", new MemberLoad { MessagesHeld = 5000 });
        Assert.True(await _coordinator.SetAsync(80, ByteString.CopyFromUtf8("current")));
        Assert.True(_index.TryGet(80, out var entry));
        Assert.DoesNotContain(third, entry.Replicas);
        Assert.True(await _coordinator.StoreCopyAsync(third, new Copy { Id = 80, Version = entry.Version - 1, Payload = ByteString.CopyFromUtf8("older") }));

        // A GET looked the id up, then a DEL removed it and its replicas' copies before the GET asked them.
        Assert.True(await _coordinator.DeleteAsync(80));
        var reader = new ReplicaReader(_registry, _index, _options, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var read = await reader.ReadAsync(80, entry);

        Assert.Equal(ReadStatus.NotFound, read.Status);
    }

    [Fact(Timeout = 180_000)]
    public Task A_del_racing_a_slow_set_of_the_same_id_is_ordered_after_it_in_memory_and_on_disk() =>
        WhileAMemberIsFrozenAsync(70, async frozen =>
        {
            // The SET waits the store timeout for the frozen member, then moves that copy; the DEL starts
            // meanwhile, so it is the later of the two, and must win both now and after a restart.
            var set = _coordinator.SetAsync(70, ByteString.CopyFromUtf8("second"));
            var del = _coordinator.DeleteAsync(70);
            Assert.True(await set.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
            Assert.True(await del.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
            Assert.Equal(ReadStatus.NotFound, (await _coordinator.GetAsync(70)).Status);
            Assert.False((await RecoverIndexAsync()).TryGet(70, out _));
        });

    [Fact(Timeout = 180_000)]
    public async Task A_set_whose_every_member_misses_the_store_timeout_tries_them_again_and_is_acknowledged()
    {
        // Both live members stop answering for longer than the store timeout (a starved machine, a cold start):
        // every member is tried and fails once, and the SET is acknowledged on a second try, slowly, not refused.
        // Connected first (a SET stored), so the frozen members are busy, not unreachable: a connection attempt to a
        // frozen process would time out and mark it down.
        Assert.True(await _coordinator.SetAsync(47, ByteString.CopyFromUtf8("connected")));
        var retriesBefore = LeaderMetrics.StoreRetries;
        foreach (var member in _members)
            member.Freeze(true);
        var thaw = Task.Delay(_options.StoreTimeout + TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken)
            .ContinueWith(_ => _members.ForEach(m => m.Freeze(false)), TaskScheduler.Default);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.True(await _coordinator.SetAsync(45, ByteString.CopyFromUtf8("patient")).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken));
        await thaw;
        Assert.True(clock.Elapsed > _options.StoreTimeout, $"answered after {clock.Elapsed}, before any store timeout");
        Assert.True(LeaderMetrics.StoreRetries > retriesBefore);
        Assert.True(_index.TryGet(45, out var entry));
        Assert.Equal(["live0", "live1"], entry.Replicas.Select(m => m.Name).Order());
        var read = await _coordinator.GetAsync(45);
        Assert.Equal((ReadStatus.Found, "patient"), (read.Status, read.Payload!.ToStringUtf8()));
    }

    [Fact(Timeout = 180_000)]
    public async Task A_set_whose_members_stay_silent_is_refused_once_the_write_timeout_has_passed()
    {
        _options.WriteTimeout = TimeSpan.FromSeconds(5);
        Assert.True(await _coordinator.SetAsync(48, ByteString.CopyFromUtf8("connected")));
        foreach (var member in _members)
            member.Freeze(true);
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            Assert.False(await _coordinator.SetAsync(46, ByteString.CopyFromUtf8("never")).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken));
            Assert.True(clock.Elapsed >= _options.WriteTimeout - TimeSpan.FromMilliseconds(100) && clock.Elapsed < _options.WriteTimeout + TimeSpan.FromSeconds(3),
                $"refused after {clock.Elapsed}");
            Assert.False(_index.TryGet(46, out _));
        }
        finally
        {
            foreach (var member in _members)
                member.Freeze(false);
        }
    }

    [Fact(Timeout = 180_000)]
    public async Task With_fewer_reachable_members_than_tolerance_the_set_is_refused_not_acknowledged()
    {
        _members[1].Kill();
        Assert.False(await _coordinator.SetAsync(43, ByteString.CopyFromUtf8("too few")));
        Assert.False(_index.TryGet(43, out _));
        Assert.Equal(ReadStatus.NotFound, (await _coordinator.GetAsync(43)).Status);
    }

    [Fact(Timeout = 180_000)]
    public async Task A_read_fails_over_to_the_next_replica_when_the_first_has_crashed()
    {
        Assert.True(await _coordinator.SetAsync(44, ByteString.CopyFromUtf8("survives")));
        _index.TryGet(44, out var entry);
        var first = _members.Single(m => entry.Replicas[0].Name == $"live{_members.IndexOf(m)}");
        first.Kill();
        var read = await _coordinator.GetAsync(44);
        Assert.Equal((ReadStatus.Found, "survives"), (read.Status, read.Payload!.ToStringUtf8()));
    }

    public ValueTask DisposeAsync() => _leader.DisposeAsync();
}
