using Grpc.Net.Client;
using Tolerex.Leader.Placement;
using Tolerex.Protocol.V1;

namespace Tolerex.Leader.Membership;

/// <summary>
/// One member as the leader sees it. Members are never removed; a member that stops heartbeating is marked
/// down and comes back on its next heartbeat or registration.
/// </summary>
internal sealed class MemberNode(int number, string address, string identity, GrpcChannel channel) : IPlacementCandidate
{
    private long _lastHeartbeatTicks = Environment.TickCount64;
    private long _lastHeartbeatUnixMs;
    private long _messagesHeld;
    private long _bytesHeld;
    private int _inFlight;
    private volatile bool _alive;

    /// <summary>Stable small number naming this member in the durable index (assigned at first registration).</summary>
    public int Number { get; } = number;

    /// <summary>The address the member advertised and the leader dials, normalised to a URL.</summary>
    public string Address { get; } = address;
    /// <summary>
    /// The name in the member certificate that registered this address. Only that identity may register or
    /// heartbeat for the address, and the leader only talks to a server there that presents it.
    /// </summary>
    public string Identity { get; private set; } = identity;

    /// <summary>
    /// Binds a member restored from an index written before identities were recorded (identity "") to the
    /// first identity that registers it. False when it is already bound to another.
    /// </summary>
    public bool TryBind(string identity)
    {
        lock (this)
        {
            if (Identity.Length == 0)
                Identity = identity;
            return Identity == identity;
        }
    }
    public string Name { get; set; } = "";

    /// <summary>Leaving on purpose: it gets no new copies, and repair moves the ones it holds elsewhere (set by the registry).</summary>
    public bool Decommissioned { get; internal set; }

    /// <summary>The member's label in metrics: its identity, which is stable across restarts and addresses.</summary>
    public string MetricName => Identity.Length > 0 ? Identity : Address;
    /// <summary>Completes when the member is in the durable index, so index records may name it.</summary>
    public Task Recorded { get; set; } = Task.CompletedTask;
    /// <summary>True once the member has registered with this leader process (false when only restored from disk).</summary>
    public bool RegisteredHere { get; set; }
    private volatile Connection _connection = new(channel);

    public Copies.CopiesClient Client => _connection.Client;
    public GrpcChannel Channel => _connection.Channel;

    /// <summary>
    /// Replaces the channel when a member that was down comes back, so calls do not wait out a reconnect
    /// backoff the old channel built up while the member was gone.
    /// </summary>
    public void Reconnect(GrpcChannel channel)
    {
        var old = Interlocked.Exchange(ref _connection, new Connection(channel));
        // Calls still running on the old channel end within their deadlines; dispose it after that.
        _ = Task.Delay(TimeSpan.FromSeconds(30)).ContinueWith(_ => old.Channel.Dispose(), TaskScheduler.Default);
    }

    private sealed class Connection(GrpcChannel channel)
    {
        public GrpcChannel Channel { get; } = channel;
        public Copies.CopiesClient Client { get; } = new(channel);
    }

    public bool Alive => _alive;
    /// <summary>Null until the first heartbeat or registration seen by this leader process.</summary>
    public DateTimeOffset? LastHeartbeat => Volatile.Read(ref _lastHeartbeatUnixMs) is var ms and > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
    public TimeSpan SinceHeartbeat => TimeSpan.FromMilliseconds(Environment.TickCount64 - Volatile.Read(ref _lastHeartbeatTicks));
    public long MessagesHeld => Volatile.Read(ref _messagesHeld);
    public long BytesHeld => Volatile.Read(ref _bytesHeld);
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>What placement balances on: messages the member reports holding plus copies on their way to it.</summary>
    public long Load => MessagesHeld + InFlight;

    public void ReportLoad(MemberLoad? load)
    {
        if (load is null)
            return;
        Volatile.Write(ref _messagesHeld, load.MessagesHeld);
        Volatile.Write(ref _bytesHeld, load.BytesHeld);
    }

    /// <summary>Records a heartbeat; returns true when this revived a member that was down.</summary>
    public bool Touch()
    {
        Volatile.Write(ref _lastHeartbeatTicks, Environment.TickCount64);
        Volatile.Write(ref _lastHeartbeatUnixMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var wasDown = !_alive;
        _alive = true;
        return wasDown;
    }

    /// <summary>Counts the silence of a member that is down from now on (the leader could not hear it before).</summary>
    public void RestartSilenceClock()
    {
        if (!_alive)
            Volatile.Write(ref _lastHeartbeatTicks, Environment.TickCount64);
    }

    /// <summary>Marks the member down; returns true when it was up.</summary>
    public bool MarkDown()
    {
        var wasUp = _alive;
        _alive = false;
        return wasUp;
    }

    private long _writesPausedUntil;

    /// <summary>True for a while after the member could not store a batch (a full disk): placement skips it.</summary>
    public bool WritesPaused => Environment.TickCount64 < Volatile.Read(ref _writesPausedUntil);

    /// <summary>The member refused a batch: no new copies go there for <paramref name="pause"/>.</summary>
    public void PauseWrites(TimeSpan pause) => Volatile.Write(ref _writesPausedUntil, Environment.TickCount64 + (long)pause.TotalMilliseconds);

    public void BeginPlacement() => Interlocked.Increment(ref _inFlight);
    public void EndPlacement() => Interlocked.Decrement(ref _inFlight);

    public override string ToString() => Address;
}
