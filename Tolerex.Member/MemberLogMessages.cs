using Tolerex.Storage;

namespace Tolerex.Member;

/// <summary>The member's start-up log line.</summary>
internal static partial class MemberLogMessages
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Member {Name} starting: grpc={Port} metrics={MetricsPort} io={Io} data={DataDir} leader={Leader} advertise={Advertise}")]
    public static partial void Starting(ILogger logger, string name, int port, int metricsPort, IoMode io, string dataDir, string leader, string advertise);
}
