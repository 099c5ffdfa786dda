using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Tolerex.ServiceDefaults.Configuration;
using Tolerex.Storage;

namespace Tolerex.Leader.Configuration;

internal enum BalancerStrategy { LeastLoaded, PowerOfTwoChoices }

/// <summary>Every leader setting with its default; bound from <c>Tolerex:Leader</c> (docs/configuration.md).</summary>
internal sealed class LeaderOptions
{
    public const string Section = "Tolerex:Leader";

    /// <summary>Copies of every message (replication factor); a message survives the loss of Tolerance-1 of them.</summary>
    [Range(1, 1000)]
    public int Tolerance { get; set; } = 2;
    /// <summary>A file holding <c>TOLERANCE=&lt;n&gt;</c>, read when Tolerance is not set (see <see cref="ToleranceFile"/>).</summary>
    public string? ToleranceFile { get; set; }
    public BalancerStrategy Balancer { get; set; } = BalancerStrategy.LeastLoaded;

    [Range(0, 65535)]
    public int GrpcPort { get; set; } = 5555;
    /// <summary>This node's name, shown by STATUS (<c>node=</c>, <c>leader=</c>).</summary>
    [Required(ErrorMessage = "is required")]
    [RegularExpression("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", ErrorMessage = "must be 1-64 letters, digits, '.', '_' or '-'")]
    public string Name { get; set; } = "leader";
    /// <summary>
    /// The gRPC addresses (<c>host:port</c>) of every node of the leader group, this one included, comma-separated.
    /// Empty: this node is a group of one.
    /// </summary>
    public string Peers { get; set; } = "";
    /// <summary>A follower that hears nothing from the group's leader for a random time between this and twice this starts an election.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan ElectionTimeout { get; set; } = TimeSpan.FromMilliseconds(300);
    /// <summary>How long a connection to a node that does not lead waits for the group to have a leader before <c>ERROR: no leader</c>.</summary>
    [PositiveDuration]
    public TimeSpan NoLeaderTimeout { get; set; } = TimeSpan.FromSeconds(5);

    [Range(0, 65535)]
    public int TcpPort { get; set; } = 6666;
    /// <summary>
    /// Port of the RESP2 listener (Redis clients: redis-cli, redis-benchmark, client libraries), on
    /// <see cref="TcpListenAddress"/> with the same TLS, password and limits as HaToKuSe; 0 picks a free port.
    /// </summary>
    [Range(0, 65535)]
    public int RespPort { get; set; } = 6380;
    [Range(0, 65535)]
    public int MetricsPort { get; set; } = 9090;
    /// <summary>Address of the HaToKuSe listener: loopback by default.</summary>
    [Required(ErrorMessage = "is required")]
    public string TcpListenAddress { get; set; } = "localhost";
    /// <summary>Serve HaToKuSe over TLS (the leader's certificate); clients connect with <c>tolerex --tls</c>.</summary>
    public bool Tls { get; set; }

    /// <summary>Longest HaToKuSe line accepted, line end excluded; longer lines get <c>ERROR: line too long</c> and the connection closes.</summary>
    [Range(64, 512 * 1024 * 1024)]
    public int MaxLineBytes { get; set; } = 4 * 1024 * 1024;
    /// <summary>Largest N accepted by <c>&lt;N&gt; SET &lt;message&gt;</c>.</summary>
    [Range(1, 100_000_000)]
    public long MaxBulkCount { get; set; } = 100_000;
    /// <summary>How many of a bulk command's SETs are replicated at once.</summary>
    [Range(1, 4096)]
    public int BulkConcurrency { get; set; } = 64;
    /// <summary>When set (not empty), every command except AUTH, HELP, PING, PROMPT and QUIT needs <c>AUTH &lt;password&gt;</c> first (like Redis requirepass).</summary>
    public string? Password { get; set; }
    /// <summary>A wrong password is answered only after this delay, so guessing is slow.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan AuthFailureDelay { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>Open client connections accepted, HaToKuSe and RESP together; one more gets <c>ERROR: too many connections</c> (RESP: <c>-ERR max number of clients reached</c>) and is closed.</summary>
    [Range(1, 1_000_000)]
    public int MaxConnections { get; set; } = 10_000;
    /// <summary>
    /// SETs one connection may have in flight when it pipelines them (sends more before the replies), their values
    /// within <see cref="MaxLineBytes"/> beyond the first's; 1 stores them one at a time.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxPipelinedSets { get; set; } = 128;
    /// <summary>Close a connection that sends nothing for this long; zero (the default, like Redis) never does.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "365.00:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.Zero;
    /// <summary>A line must be completed this long after its first byte arrived, or <c>ERROR: line timeout</c> and close.</summary>
    [PositiveDuration]
    public TimeSpan PartialLineTimeout { get; set; } = TimeSpan.FromSeconds(30);
    /// <summary>Send the banner and the prompt to new connections (a connection can turn them off with PROMPT OFF).</summary>
    public bool Banner { get; set; } = true;

    /// <summary>
    /// Memory for recently written and read values, so a GET of one is answered without asking a member (a value
    /// is used only for the exact version the index names); 0 turns the cache off. One ring of this size, at most
    /// 2,147,483,591 bytes (the largest .NET array).
    /// </summary>
    [Range(typeof(long), "0", "2147483591")]
    public long ValueCacheBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>How long a member may take to acknowledge a batch of copies; then its copies move to other members.</summary>
    [PositiveDuration]
    public TimeSpan StoreTimeout { get; set; } = TimeSpan.FromSeconds(2);
    /// <summary>
    /// How long a SET keeps placing its copies: once every member was tried and too few stored the copy, the
    /// members are tried again until then, and only then <c>ERROR: store failed</c>.
    /// </summary>
    [PositiveDuration]
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>After a member could not store a batch (its disk is full, say), how long no new copies go there.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan StoreFailurePause { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>Most copies sent to one member in one batch; also the most reads in one batch of reads.</summary>
    [Range(1, 100_000)]
    public int MaxBatchCount { get; set; } = 256;
    /// <summary>Most payload bytes in one batch (a single larger copy still goes alone).</summary>
    [Range(1024, 256 * 1024 * 1024)]
    public int MaxBatchBytes { get; set; } = 1024 * 1024;
    /// <summary>Batches in flight per member (copies and reads each); while they are, new ones gather into the next batch.</summary>
    [Range(1, 1024)]
    public int BatchesInFlight { get; set; } = 4;
    /// <summary>How long a GET keeps asking its replicas before <c>ERROR: retrieve failed</c>.</summary>
    [PositiveDuration]
    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>Deadline of a GET's first attempt on a replica; each further round on that replica gets twice as long.</summary>
    [PositiveDuration]
    public TimeSpan ReadAttemptTimeout { get; set; } = TimeSpan.FromMilliseconds(500);
    /// <summary>A replica slower than this to answer a GET gets company: the next replica is asked too.</summary>
    [PositiveDuration]
    public TimeSpan ReadHedgeDelay { get; set; } = TimeSpan.FromMilliseconds(50);
    /// <summary>How often members are asked to heartbeat.</summary>
    [PositiveDuration]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>A member with no heartbeat for this long is marked down.</summary>
    [PositiveDuration]
    public TimeSpan MemberTimeout { get; set; } = TimeSpan.FromSeconds(3);
    /// <summary>Connect timeout of leader→member channels.</summary>
    [PositiveDuration]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A member down this long is lost: repair copies the ids it held to other members (0 = at once). A member
    /// that comes back after that gives up the copies that moved away.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "365.00:00:00")]
    public TimeSpan ReplaceAfter { get; set; } = TimeSpan.FromSeconds(60);
    /// <summary>How often repair looks for lost members and under-replicated ids.</summary>
    [PositiveDuration]
    public TimeSpan RepairInterval { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>Most copies repair restores per second, so client traffic keeps most of the cluster's capacity.</summary>
    [Range(1, 10_000_000)]
    public int RepairCopiesPerSecond { get; set; } = 1000;
    /// <summary>Ids repaired at once.</summary>
    [Range(1, 4096)]
    public int RepairConcurrency { get; set; } = 32;
    /// <summary>How long reconciling a member that came up may take to list its copies.</summary>
    [PositiveDuration]
    public TimeSpan ReconcileTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Where the durable index (consensus log and snapshots) lives.</summary>
    [Required(ErrorMessage = "is required")]
    public string DataDir { get; set; } = Path.Combine("data", "leader");
    /// <summary>Members' setting; the leader always flushes an index entry before it counts as committed, so <c>os</c> changes nothing here.</summary>
    public Durability Durability { get; set; } = Durability.Fsync;
    /// <summary>A snapshot of the index is written after this many bytes of consensus log entries; the log then drops what it covers.</summary>
    [Range(4096, long.MaxValue)]
    public long CheckpointBytes { get; set; } = 64L * 1024 * 1024;
    /// <summary>
    /// Size of each file of a new consensus log (rounded up to 4 KiB); a log keeps the size it was made with. Each
    /// file costs an open, a map and a lock when the log reaches it, so small files cost throughput.
    /// </summary>
    [Range(4096, 256 * 1024 * 1024)]
    public int LogChunkBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Index entries (each a group of records) replicated at once. While one waits for its flush the next is
    /// already in the log, and the log flushes every entry appended meanwhile together.
    /// </summary>
    [Range(1, 64)]
    public int IndexEntriesInFlight { get; set; } = 4;

    /// <summary>The addresses in <see cref="Peers"/>, in order.</summary>
    public string[] PeerAddresses => Peers.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    /// <summary>gRPC messages must carry the largest payload a line can hold, plus framing.</summary>
    public int MaxGrpcMessageBytes => MaxLineBytes + 64 * 1024;
}

[OptionsValidator]
internal sealed partial class LeaderOptionsValidator : IValidateOptions<LeaderOptions>;

/// <summary>Checks that involve more than one setting, or more than an attribute can say.</summary>
internal sealed class LeaderOptionsRelations : IValidateOptions<LeaderOptions>
{
    public ValidateOptionsResult Validate(string? name, LeaderOptions options)
    {
        if (options.TcpListenAddress != "localhost" && !System.Net.IPAddress.TryParse(options.TcpListenAddress, out _))
            return ValidateOptionsResult.Fail("TcpListenAddress: must be localhost or an IP address");
        if (options.MemberTimeout <= options.HeartbeatInterval)
            return ValidateOptionsResult.Fail($"MemberTimeout: must be longer than HeartbeatInterval ({options.HeartbeatInterval})");
        try
        {
            Consensus.LeaderGroup.From(options);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            return ValidateOptionsResult.Fail($"Peers: must be the host:port gRPC addresses of every leader node, this one included, comma-separated: {e.Message}");
        }

        return ValidateOptionsResult.Success;
    }
}
