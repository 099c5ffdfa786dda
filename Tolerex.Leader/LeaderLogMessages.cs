using Tolerex.Leader.Configuration;

namespace Tolerex.Leader;

/// <summary>The leader's start-up log lines.</summary>
internal static partial class LeaderLogMessages
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Leader starting: tolerance={Tolerance} balancer={Balancer} hatokuse={TcpAddress}:{TcpPort} resp_port={RespPort} tls={Tls} grpc={GrpcPort} metrics={MetricsPort}")]
    public static partial void Starting(ILogger logger, int tolerance, BalancerStrategy balancer, string tcpAddress, int tcpPort, int respPort, bool tls, int grpcPort, int metricsPort);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Durability=os has no effect on the leader: its index entries are always flushed before they count as committed")]
    public static partial void DurabilityIgnored(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The HaToKuSe and RESP ports listen on {Address}, beyond this machine, without a password: set Tolerex:Leader:Password (or TOLEREX_PASSWORD)")]
    public static partial void OpenWithoutPassword(ILogger logger, string address);
}
