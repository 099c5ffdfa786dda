using System.Collections.Concurrent;
using Tolerex.Leader.Configuration;
using Tolerex.Protocol.V1;
using Tolerex.ServiceDefaults.Identity;

namespace Tolerex.Leader.Membership;

/// <summary>
/// Every member the leader knows, by address. Reads are lock-free; the alive list used by placement is a
/// snapshot array rebuilt only when a member goes up or down, so a SET never allocates or locks to read it.
/// </summary>
internal sealed partial class MemberRegistry(LeaderOptions options, ILogger<MemberRegistry> logger) : IDisposable
{
    private readonly ConcurrentDictionary<string, Member> _members = new(StringComparer.Ordinal);
    private readonly Lock _snapshotLock = new();
    private Member[] _alive = [];
    private Member[] _all = [];

    public event Action? Changed;

    /// <summary>Members currently considered alive, in first-registration order.</summary>
    public Member[] Alive => Volatile.Read(ref _alive);
    public Member[] All => Volatile.Read(ref _all);

    public Member Register(string address, string name, MemberLoad? load)
    {
        var key = NodeChannels.Canonical(address);
        var added = false;
        var member = _members.GetOrAdd(key, k =>
        {
            added = true;
            // Creating a channel does not dial, so no I/O happens here.
            return new Member(k, NodeChannels.Create(k, options.ConnectTimeout, options.MaxGrpcMessageBytes));
        });
        member.Name = name;
        member.ReportLoad(load);
        var revived = member.Touch();
        if (added)
            LogRegistered(logger, key, name);
        else if (revived)
            LogRecovered(logger, key);
        if (added || revived)
            Rebuild();
        return member;
    }

    /// <summary>Returns false for an address the leader does not know: the member must register again.</summary>
    public bool Heartbeat(string address, MemberLoad? load)
    {
        if (!TryKey(address, out var key) || !_members.TryGetValue(key, out var member))
            return false;
        member.ReportLoad(load);
        if (member.Touch())
        {
            LogRecovered(logger, member.Address);
            Rebuild();
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

    /// <summary>Marks a member down at once (its heartbeats stopped, or a call to it found it unreachable).</summary>
    public void MarkDown(Member member, string reason)
    {
        if (!member.MarkDown())
            return;
        LogMarkedDown(logger, member.Address, reason, member.LastHeartbeat);
        Rebuild();
    }

    private void Rebuild()
    {
        lock (_snapshotLock)
        {
            var all = _members.Values.OrderBy(m => m.Address, StringComparer.Ordinal).ToArray();
            Volatile.Write(ref _all, all);
            Volatile.Write(ref _alive, all.Where(m => m.Alive).ToArray());
        }

        Changed?.Invoke();
    }

    public void Dispose()
    {
        foreach (var member in _members.Values)
            member.Channel.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "New member registered: {Address} ({Name})")]
    private static partial void LogRegistered(ILogger logger, string address, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "Member recovered: {Address}")]
    private static partial void LogRecovered(ILogger logger, string address);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Member marked DOWN: {Address} ({Reason}); last heartbeat {LastHeartbeat:O}")]
    private static partial void LogMarkedDown(ILogger logger, string address, string reason, DateTimeOffset lastHeartbeat);
}
