using Tolerex.Protocol.Storage;
using Tolerex.ServiceDefaults.Configuration;

namespace Tolerex.Leader.Configuration;

/// <summary>
/// Reads <see cref="LeaderOptions"/> from ordinary .NET configuration (<c>Tolerex:Leader:*</c>: appsettings,
/// <c>Tolerex__Leader__*</c> environment variables, command line) and maps the original's environment
/// names onto it in this one place. A <c>Tolerex:Leader</c> key wins over its original-style name.
/// Every bad value becomes a <see cref="ConfigurationException"/> naming the key.
/// </summary>
internal static class LeaderSettings
{
    public const string DefaultToleranceFile = "config/tolerance.conf";

    public static LeaderOptions Load(IConfiguration configuration)
    {
        var reader = new SettingReader(configuration, LeaderOptions.Section);
        var d = new LeaderOptions();
        return new LeaderOptions
        {
            Tolerance = ReadTolerance(configuration, reader),
            Balancer = ParseBalancer(reader.Raw("Balancer", "BALANCER_STRATEGY")),
            GrpcPort = reader.Port("GrpcPort", "LEADER_GRPC_PORT", d.GrpcPort),
            TcpPort = reader.Port("TcpPort", "LEADER_TCP_PORT", d.TcpPort),
            MetricsPort = reader.Port("MetricsPort", "LEADER_METRICS_PORT", d.MetricsPort),
            TcpListenAddress = reader.Raw("TcpListenAddress", null) ?? d.TcpListenAddress,
            Tls = reader.Flag("Tls", d.Tls),
            MaxLineBytes = (int)reader.Number("MaxLineBytes", d.MaxLineBytes, 64, 512L * 1024 * 1024),
            MaxBulkCount = reader.Number("MaxBulkCount", d.MaxBulkCount, 1, 100_000_000),
            BulkConcurrency = (int)reader.Number("BulkConcurrency", d.BulkConcurrency, 1, 4096),
            Banner = reader.Flag("Banner", d.Banner),
            Password = reader.Raw("Password", "TOLEREX_PASSWORD"),
            AuthFailureDelay = reader.Duration("AuthFailureDelay", d.AuthFailureDelay),
            MaxConnections = (int)reader.Number("MaxConnections", d.MaxConnections, 1, 1_000_000),
            IdleTimeout = reader.Raw("IdleTimeout", null) is "0" or "off" ? TimeSpan.Zero : reader.Duration("IdleTimeout", d.IdleTimeout),
            PartialLineTimeout = reader.Duration("PartialLineTimeout", d.PartialLineTimeout),
            StoreTimeout = reader.Duration("StoreTimeout", d.StoreTimeout),
            MaxBatchCount = (int)reader.Number("MaxBatchCount", d.MaxBatchCount, 1, 100_000),
            MaxBatchBytes = (int)reader.Number("MaxBatchBytes", d.MaxBatchBytes, 1024, 256L * 1024 * 1024),
            BatchesInFlight = (int)reader.Number("BatchesInFlight", d.BatchesInFlight, 1, 1024),
            ReadAttemptTimeout = reader.Duration("ReadAttemptTimeout", d.ReadAttemptTimeout),
            HeartbeatInterval = reader.Duration("HeartbeatInterval", d.HeartbeatInterval),
            MemberTimeout = reader.Duration("MemberTimeout", d.MemberTimeout),
            ConnectTimeout = reader.Duration("ConnectTimeout", d.ConnectTimeout),
            DataDir = reader.Raw("DataDir", "data-dir") ?? d.DataDir,
            Durability = ParseDurability(reader.Raw("Durability", null)),
            CheckpointBytes = reader.Number("CheckpointBytes", d.CheckpointBytes, 4096, long.MaxValue),
            IndexPreallocateBytes = reader.Number("IndexPreallocateBytes", d.IndexPreallocateBytes, 0, 1L << 30),
        }.Validated();
    }

    private static LeaderOptions Validated(this LeaderOptions o)
    {
        if (o.MemberTimeout <= o.HeartbeatInterval)
            throw new ConfigurationException($"{LeaderOptions.Section}:MemberTimeout ({o.MemberTimeout}) must be longer than HeartbeatInterval ({o.HeartbeatInterval})");
        return o;
    }

    private static int ReadTolerance(IConfiguration configuration, SettingReader reader)
    {
        var direct = reader.Raw("Tolerance", "TOLERANCE");
        if (direct is not null)
            return ToleranceFile.ParseValue(direct);

        var file = reader.Raw("ToleranceFile", "TOLERANCE_CONF");
        if (file is not null)
            return ToleranceFile.Read(file);

        // The original always read config/tolerance.conf; it stays optional here.
        return File.Exists(DefaultToleranceFile) ? ToleranceFile.Read(DefaultToleranceFile) : new LeaderOptions().Tolerance;
    }

    internal static Durability ParseDurability(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "fsync" => Durability.Fsync,
        "os" => Durability.Os,
        _ => throw new ConfigurationException($"durability must be fsync or os (got '{value}')"),
    };

    internal static BalancerStrategy ParseBalancer(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "least_loaded" or "leastloaded" or "least-loaded" => BalancerStrategy.LeastLoaded,
        "p2c" or "poweroftwochoices" => BalancerStrategy.PowerOfTwoChoices,
        _ => throw new ConfigurationException($"balancer must be least_loaded or p2c (got '{value}')"),
    };
}
