using System.Net;
using System.Net.NetworkInformation;
using Tolerex.Leader.Configuration;
using Tolerex.ServiceDefaults.Identity;

namespace Tolerex.Leader.Consensus;

/// <summary>
/// The nodes of the leader group, by their gRPC addresses (<c>Tolerex:Leader:Peers</c>, this node included), and
/// which of them is this node: the one on this node's gRPC port whose host is this machine, or is named like
/// this node (<c>Name</c>: in a container platform a node's service name, which resolves elsewhere). No peers: a
/// group of one.
/// </summary>
internal sealed record LeaderGroup(Uri Self, IReadOnlyList<Uri> Peers)
{
    /// <summary>Where each node serves the group's messages, on its gRPC port.</summary>
    public const string Path = "/tolerex/consensus";

    public bool Alone => Peers.Count == 1;

    /// <summary>Throws <see cref="FormatException"/> when an address is malformed or this node is not exactly one of the peers.</summary>
    public static LeaderGroup From(LeaderOptions options)
    {
        var addresses = options.PeerAddresses;
        if (addresses.Length == 0)
        {
            var self = new Uri($"https://localhost:{options.GrpcPort}{Path}");
            return new LeaderGroup(self, [self]);
        }

        var peers = addresses.Select(a => new Uri(NodeChannels.Canonical(a) + Path)).ToList();
        if (peers.Distinct().Count() != peers.Count)
            throw new FormatException("names a node twice");
        var mine = peers.Where(p => p.Port == options.GrpcPort && (IsThisMachine(p.Host) || IsNamed(p.Host, options.Name))).ToList();
        return mine.Count == 1
            ? new LeaderGroup(mine[0], peers)
            : throw new FormatException(mine.Count == 0
                ? $"none of them is this node (port {options.GrpcPort} on this machine)"
                : $"several of them could be this node ({string.Join(", ", mine)})");
    }

    private static bool IsNamed(string host, string name) =>
        host.Equals(name, StringComparison.OrdinalIgnoreCase) || host.StartsWith(name + ".", StringComparison.OrdinalIgnoreCase);

    private static bool IsThisMachine(string host)
    {
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
            return true;
        if (IPAddress.TryParse(host.Trim('[', ']'), out var ip))
            return IPAddress.IsLoopback(ip) || LocalAddresses().Contains(ip);
        var name = Dns.GetHostName();
        // A pod's host name is the first label of its stable DNS name (leader-0 of leader-0.leaders.default.svc).
        return host.Equals(name, StringComparison.OrdinalIgnoreCase) || host.StartsWith(name + ".", StringComparison.OrdinalIgnoreCase);
    }

    private static HashSet<IPAddress> LocalAddresses() =>
        NetworkInterface.GetAllNetworkInterfaces().SelectMany(n => n.GetIPProperties().UnicastAddresses).Select(a => a.Address).ToHashSet();
}
