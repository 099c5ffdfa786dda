using Tolerex.Protocol.Storage;

namespace Tolerex.Leader.Configuration;

internal enum BalancerStrategy { LeastLoaded, PowerOfTwoChoices }

/// <summary>Every leader setting with its default. Bound from the <c>Tolerex:Leader</c> section.</summary>
internal sealed class LeaderOptions
{
    public const string Section = "Tolerex:Leader";

    /// <summary>Copies of every message (replication factor); a message survives the loss of Tolerance-1 of them.</summary>
    public int Tolerance { get; set; } = 2;
    public BalancerStrategy Balancer { get; set; } = BalancerStrategy.LeastLoaded;

    public int GrpcPort { get; set; } = 5555;
    public int TcpPort { get; set; } = 6666;
    public int MetricsPort { get; set; } = 9090;
    /// <summary>Address of the HaToKuSe listener. Loopback by default, as in the original.</summary>
    public string TcpListenAddress { get; set; } = "localhost";
    /// <summary>Serve HaToKuSe over TLS (the leader's certificate); clients connect with <c>tolerex --tls</c>.</summary>
    public bool Tls { get; set; }

    /// <summary>Longest HaToKuSe line accepted, terminator included; longer lines get <c>ERROR: line too long</c> and the connection closes.</summary>
    public int MaxLineBytes { get; set; } = 4 * 1024 * 1024;
    /// <summary>Largest N accepted by <c>&lt;N&gt; SET &lt;message&gt;</c>.</summary>
    public long MaxBulkCount { get; set; } = 100_000;
    /// <summary>How many of a bulk command's SETs are replicated at once.</summary>
    public int BulkConcurrency { get; set; } = 64;
    /// <summary>When set, every command except AUTH, HELP, PING and QUIT needs <c>AUTH &lt;password&gt;</c> first (like Redis requirepass).</summary>
    public string? Password { get; set; }
    /// <summary>A wrong password is answered only after this delay, so guessing is slow.</summary>
    public TimeSpan AuthFailureDelay { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>Open HaToKuSe connections accepted; one more gets <c>ERROR: too many connections</c> and is closed.</summary>
    public int MaxConnections { get; set; } = 10_000;
    /// <summary>Close a connection that sends nothing for this long; zero (the default, like Redis) never does.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.Zero;
    /// <summary>A line must be completed this long after its first byte arrived, or <c>ERROR: line timeout</c> and close.</summary>
    public TimeSpan PartialLineTimeout { get; set; } = TimeSpan.FromSeconds(30);
    /// <summary>Send the banner and the prompt to new connections (a connection can turn them off with PROMPT OFF).</summary>
    public bool Banner { get; set; } = true;

    /// <summary>Deadline of one Store call to one member; on failure the copy moves to another member.</summary>
    public TimeSpan StoreTimeout { get; set; } = TimeSpan.FromSeconds(2);
    /// <summary>Most copies sent to one member in one StoreBatch call.</summary>
    public int MaxBatchCount { get; set; } = 256;
    /// <summary>Most payload bytes in one StoreBatch call (a single larger copy still goes alone).</summary>
    public int MaxBatchBytes { get; set; } = 1024 * 1024;
    /// <summary>StoreBatch calls in flight per member; while they are, new copies gather into the next batch.</summary>
    public int BatchesInFlight { get; set; } = 4;
    /// <summary>Deadline of one Retrieve call; on failure the next replica is asked.</summary>
    public TimeSpan ReadAttemptTimeout { get; set; } = TimeSpan.FromMilliseconds(500);
    /// <summary>How often members are asked to heartbeat.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>A member with no heartbeat for this long is marked down (the original took 15–20 s).</summary>
    public TimeSpan MemberTimeout { get; set; } = TimeSpan.FromSeconds(3);
    /// <summary>Connect timeout of leader→member channels.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Where the durable index (log segments and checkpoint) lives.</summary>
    public string DataDir { get; set; } = Path.Combine("data", "leader");
    /// <summary>fsync: a SET is acknowledged only after its index record is fsynced; os: after hand-off to the OS.</summary>
    public Durability Durability { get; set; } = Durability.Fsync;
    /// <summary>A checkpoint is written after this many bytes of index log.</summary>
    public long CheckpointBytes { get; set; } = 64L * 1024 * 1024;
    /// <summary>Zero-filled space kept ahead of the index log's end (0 = none), so each sync overwrites allocated blocks.</summary>
    public long IndexPreallocateBytes { get; set; } = 4L * 1024 * 1024;

    /// <summary>gRPC messages must carry the largest payload a line can hold, plus framing.</summary>
    public int MaxGrpcMessageBytes => MaxLineBytes + 64 * 1024;
}
