using System.Collections.Concurrent;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;
using Tolerex.Protocol.V1;
using Tolerex.ServiceDefaults.Identity;

namespace Tolerex.Leader.Membership;

/// <summary>
/// Every member the leader knows, by address and by number. Reads are lock-free; the alive list used by
/// placement is a snapshot array rebuilt only when a member goes up or down, so a SET never allocates or
/// locks to read it. A new member is not used for placement until it is durably recorded in the index, so no
/// index record can name a member that recovery would not know. This is the one place that decides a member
/// is down: its heartbeats stopped, or a call to it found it unreachable.
/// </summary>
internal sealed partial class MemberRegistry(IOptions<LeaderOptions> leaderOptions, NodeTls tls, ILogger<MemberRegistry> logger) : IDisposable
{
    private readonly LeaderOptions _options = leaderOptions.Value;
    private readonly ConcurrentDictionary<string, MemberNode> _members = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, MemberNode> _byNumber = new();
    private readonly Lock _lock = new();
    private MemberNode[] _alive = [];
    private MemberNode[] _placeable = [];
    // Completed (and replaced) each time the member lists change: what WaitForPlaceableAsync waits on.
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private MemberNode[] _all = [];
    private int _lastNumber;
    private long _joiningUntil; // Stopwatch timestamp: members may still be finding this node until then

    /// <summary>Members currently considered alive, in address order.</summary>
    public MemberNode[] Alive => Volatile.Read(ref _alive);
    /// <summary>Members that may get new copies: alive and not decommissioned, in address order.</summary>
    public MemberNode[] Placeable => Volatile.Read(ref _placeable);
    public MemberNode[] All => Volatile.Read(ref _all);

    public bool TryGet(int number, out MemberNode member) => _byNumber.TryGetValue(number, out member!);

    /// <summary>
    /// The member at <paramref name="address"/>, created (down, with a fresh number) and bound to
    /// <paramref name="identity"/> if new; then <paramref name="record"/> makes it durable, and
    /// <see cref="MemberNode.Recorded"/> completes when it is. The caller checks the returned member's identity.
    /// </summary>
    public MemberNode GetOrAdd(string address, string identity, Func<MemberNode, Task> record, out bool added)
    {
        var key = NodeChannels.Canonical(address);
        if (_members.TryGetValue(key, out var existing))
        {
            added = false;
            return existing;
        }

        lock (_lock)
        {
            if (_members.TryGetValue(key, out existing))
            {
                added = false;
                return existing;
            }

            added = true;
            var member = Add(++_lastNumber, key, identity);
            member.Recorded = record(member);
            return member;
        }
    }

    /// <summary>Re-creates a member known from the durable index; it stays down until it heartbeats.</summary>
    public MemberNode Restore(int number, string address, string identity)
    {
        lock (_lock)
        {
            _lastNumber = Math.Max(_lastNumber, number);
            return Add(number, NodeChannels.Canonical(address), identity);
        }
    }

    private MemberNode Add(int number, string key, string identity)
    {
        // Creating a channel does not dial, so no I/O happens here.
        var member = new MemberNode(number, key, identity, CreateChannel(key, identity));
        _members[key] = member;
        _byNumber[number] = member;
        Rebuild();
        return member;
    }

    /// <summary>A registration: the member is alive from now on.</summary>
    public void Registered(MemberNode member, string name, MemberLoad? load, bool added)
    {
        member.Name = name;
        member.RegisteredHere = true;
        member.ReportLoad(load);
        var revived = member.Touch();
        if (added)
            LogRegistered(logger, member.Address, name, member.Number);
        else if (revived)
            LogRecovered(logger, member.Address);
        if (revived)
            Revive(member);
    }

    /// <summary>A channel that only talks to a server presenting the member certificate bound to the address.</summary>
    private Grpc.Net.Client.GrpcChannel CreateChannel(string key, string identity) =>
        NodeChannels.Create(key, tls, peer => peer.Role == NodeRole.Member && peer.Name == identity, _options.ConnectTimeout, _options.MaxGrpcMessageBytes,
            reason => LogServerRefused(logger, key, identity, reason));

    /// <summary>
    /// Returns false for an address the leader does not know: the member must register again. Throws
    /// PermissionDenied when the address belongs to another member identity.
    /// </summary>
    public bool Heartbeat(string address, string identity, MemberLoad? load)
    {
        if (!TryKey(address, out var key) || !_members.TryGetValue(key, out var member))
            return false;
        if (member.Identity != identity)
            throw PeerAuthorization.Denied($"{key} is registered to member '{member.Identity}', not '{identity}'");
        // A member restored from the index, but not registered with this leader process yet, registers
        // again: that refreshes its name and load.
        if (!member.RegisteredHere)
            return false;
        member.ReportLoad(load);
        if (member.Touch())
        {
            LogRecovered(logger, member.Address);
            Revive(member);
        }

        return true;
    }

    private static bool TryKey(string address, out string key)
    {
        try
        {
            key = NodeChannels.Canonical(address);
            return true;
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            key = "";
            return false;
        }
    }

    /// <summary>A member just bound to its identity gets a channel that checks the server presents it.</summary>
    public void Rebind(MemberNode member) => member.Reconnect(CreateChannel(member.Address, member.Identity));

    /// <summary>A member came up (registered, or heartbeated after being down), with a fresh channel.</summary>
    public event Action<MemberNode>? CameUp;

    private void Revive(MemberNode member, bool freshChannel = true)
    {
        if (freshChannel)
            member.Reconnect(CreateChannel(member.Address, member.Identity));
        Rebuild();
        CameUp?.Invoke(member);
    }

    /// <summary>
    /// A call to <paramref name="member"/> failed. An unreachable member is marked down at once instead of
    /// waiting for its heartbeats to time out; its next heartbeat brings it back.
    /// </summary>
    public void CallFailed(MemberNode member, StatusCode status, string operation, string detail)
    {
        if (status == StatusCode.Unavailable)
            MarkDown(member, $"{operation} failed: {detail}");
    }

    /// <summary>
    /// Members not heard from count as silent only from now: called when the leader's listeners open and when
    /// this node becomes the group's leader, since before that no member could reach it. Otherwise repair would
    /// move the copies of members that are about to register.
    /// </summary>
    public void RestartSilenceClocks()
    {
        foreach (var member in All)
            member.RestartSilenceClock();
        Volatile.Write(ref _joiningUntil, System.Diagnostics.Stopwatch.GetTimestamp()
            + (long)(_options.MemberTimeout.TotalSeconds * System.Diagnostics.Stopwatch.Frequency));
    }

    /// <summary>
    /// True once <paramref name="count"/> members are placeable. Within MemberTimeout of this node's listeners
    /// opening or its becoming the group's leader, members that have not reached it yet are not known to be down
    /// (they register within a heartbeat or two), so this waits for them, at most <paramref name="limit"/>;
    /// afterwards it answers at once.
    /// </summary>
    public async Task<bool> WaitForPlaceableAsync(int count, TimeSpan limit)
    {
        var deadline = Math.Min(Volatile.Read(ref _joiningUntil),
            System.Diagnostics.Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * System.Diagnostics.Stopwatch.Frequency));
        while (true)
        {
            // Taken before looking, so a change between the look and the wait is not missed.
            var changed = Volatile.Read(ref _changed).Task;
            if (Placeable.Length >= count)
                return true;
            var left = System.Diagnostics.Stopwatch.GetElapsedTime(System.Diagnostics.Stopwatch.GetTimestamp(), deadline);
            if (left <= TimeSpan.Zero)
                return false;
            try
            {
                await changed.WaitAsync(left);
            }
            catch (TimeoutException)
            {
                return Placeable.Length >= count;
            }
        }
    }

    /// <summary>
    /// Asks every known member that is not up here whether it is (a reply over the member's own mutual TLS is
    /// proof), within <paramref name="timeout"/>. A node that just became the group's leader does this: members
    /// heartbeat only to the leader they know and would count as down here until their next heartbeat found
    /// the old one gone, so every SET would fail meanwhile. Those that answer are up at once; their next
    /// heartbeat is answered "unknown" and they register.
    /// </summary>
    public Task ProbeAsync(TimeSpan timeout) =>
        Task.WhenAll(All.Where(m => !m.Alive && !m.Decommissioned && m.Identity.Length > 0).Select(async member =>
        {
            if (!await AnswersAsync(member, timeout))
                return; // down, or slow: its registration brings it back
            if (member.Touch())
            {
                LogProbed(logger, member.Address);
                Revive(member, freshChannel: false); // the channel just answered
            }
        }));

    /// <summary>
    /// Calls every known member once and ignores the answers: a node of the leader group that does not lead keeps
    /// its connections to members open (and their code paths warm), so that taking over costs no handshakes.
    /// </summary>
    public Task WarmAsync(TimeSpan timeout) =>
        Task.WhenAll(All.Where(m => !m.Decommissioned && m.Identity.Length > 0).Select(m => AnswersAsync(m, timeout)));

    private static async Task<bool> AnswersAsync(MemberNode member, TimeSpan timeout)
    {
        try
        {
            await member.Client.RetrieveAsync(new RetrieveRequest { Id = 0 }, deadline: DateTime.UtcNow + timeout);
            return true;
        }
        catch (RpcException)
        {
            return false;
        }
    }

    /// <summary>Marks a member down at once (its heartbeats stopped, or a call to it found it unreachable).</summary>
    public void MarkDown(MemberNode member, string reason)
    {
        if (!member.MarkDown())
            return;
        LogMarkedDown(logger, member.Address, reason, member.LastHeartbeat);
        Rebuild();
    }

    /// <summary>The member leaves on purpose: it gets no new copies, and repair moves the ones it holds.</summary>
    public void Decommissioned(MemberNode member)
    {
        if (member.Decommissioned)
            return;
        member.Decommissioned = true;
        LogDecommissioned(logger, member.Address);
        Rebuild();
    }

    /// <summary>
    /// The member that <paramref name="name"/> names: its address (as given or canonical), its identity, or its
    /// name when no other member has that name.
    /// </summary>
    public MemberNode? Find(string name)
    {
        if (TryKey(name, out var key) && _members.TryGetValue(key, out var byAddress))
            return byAddress;
        var matches = All.Where(m => m.Identity == name || m.Name == name || m.Address == name).Take(2).ToArray();
        return matches.Length == 1 ? matches[0] : null;
    }

    private void Rebuild()
    {
        lock (_lock)
        {
            var all = _members.Values.OrderBy(m => m.Address, StringComparer.Ordinal).ToArray();
            Volatile.Write(ref _all, all);
            Volatile.Write(ref _alive, all.Where(m => m.Alive).ToArray());
            Volatile.Write(ref _placeable, all.Where(m => m.Alive && !m.Decommissioned).ToArray());
            Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }

    public void Dispose()
    {
        foreach (var member in _members.Values)
            member.Channel.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Member {Address} answered the new leader: up")]
    private static partial void LogProbed(ILogger logger, string address);

    [LoggerMessage(Level = LogLevel.Information, Message = "New member registered: {Address} ({Name}) as member #{Number}")]
    private static partial void LogRegistered(ILogger logger, string address, string name, int number);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused the server at {Address} (expected member '{Identity}'): {Reason}")]
    private static partial void LogServerRefused(ILogger logger, string address, string identity, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Member decommissioned: {Address}; its copies move to other members")]
    private static partial void LogDecommissioned(ILogger logger, string address);

    [LoggerMessage(Level = LogLevel.Information, Message = "Member recovered: {Address}")]
    private static partial void LogRecovered(ILogger logger, string address);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Member marked DOWN: {Address} ({Reason}); last heartbeat {LastHeartbeat:O}")]
    private static partial void LogMarkedDown(ILogger logger, string address, string reason, DateTimeOffset? lastHeartbeat);
}
