using Tolerex.Leader.Consensus;
using Tolerex.Protocol.HaToKuSe;
using Tolerex.Protocol.Resp;

namespace Tolerex.Leader.Frontends;

/// <summary>
/// What the shared connection handling and the forwarder need to know of a client protocol: its name in logs,
/// the replies it sends before closing, and where the group's leader serves it.
/// </summary>
internal sealed class ClientProtocol
{
    private readonly Func<Leadership, string?> _leaderAddress;

    private ClientProtocol(string name, byte[] tooManyConnections, byte[] partialTimeout, byte[] noLeader, Func<Leadership, string?> leaderAddress)
    {
        (Name, TooManyConnections, PartialTimeout, NoLeader, _leaderAddress) = (name, tooManyConnections, partialTimeout, noLeader, leaderAddress);
    }

    public static ClientProtocol HaToKuSe { get; } = new("HaToKuSe",
        HaToKuSeText.TooManyConnections.ToArray(), HaToKuSeText.LineTimeout.ToArray(), HaToKuSeText.NoLeader.ToArray(), l => l.LeaderHaToKuSe);

    public static ClientProtocol Resp { get; } = new("RESP",
        RespText.TooManyConnections.ToArray(), RespText.RequestTimeout.ToArray(), RespText.NoLeader.ToArray(), l => l.LeaderResp);

    public string Name { get; }
    public ReadOnlyMemory<byte> TooManyConnections { get; }
    public ReadOnlyMemory<byte> PartialTimeout { get; }
    public ReadOnlyMemory<byte> NoLeader { get; }

    /// <summary>host:port of this protocol's listener on the current leader when another node leads; null otherwise.</summary>
    public string? LeaderAddress(Leadership leadership) => _leaderAddress(leadership);
}
