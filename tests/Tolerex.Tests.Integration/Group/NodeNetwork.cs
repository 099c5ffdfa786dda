using System.Net;

namespace Tolerex.Tests.Integration.Group;

/// <summary>
/// A network of its own for each leader node: one Linux network namespace per node, joined to a bridge in the
/// test's namespace that holds the members and the clients (at <see cref="Gateway"/>). The test can then
/// <see cref="CutAsync"/> the link between two nodes (a blackhole route on each side: packets vanish, as in a
/// real partition: no reset, no error) while both still reach the members and the clients, and
/// <see cref="HealAsync"/> it. Needs root and iproute2 (the CI machine has both); the subnet is a private /24
/// no interface here uses, and every address in it belongs to a namespace this object created.
/// </summary>
public sealed class NodeNetwork : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(20);
    private static string _ip = "ip";
    private readonly string _token = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()))[..6];
    private readonly List<(string Namespace, IPAddress Address)> _nodes = [];
    private readonly HashSet<(int, int)> _cuts = [];
    private string _prefix = "";

    private NodeNetwork()
    {
    }

    /// <summary>The test's own address on the bridge: members listen here, clients connect from here.</summary>
    public IPAddress Gateway { get; private set; } = IPAddress.None;

    private string Bridge => $"txb{_token}";

    /// <summary>The namespace of node <paramref name="i"/> (run a process in it with <c>ip netns exec</c>).</summary>
    public string NamespaceOf(int i) => _nodes[i].Namespace;

    public IPAddress AddressOf(int i) => _nodes[i].Address;

    /// <summary>Creates <paramref name="nodes"/> namespaces on a new bridge; skips the test where that is impossible (not root, no iproute2) outside CI.</summary>
    public static async Task<NodeNetwork> CreateAsync(int nodes)
    {
        _ip = TestEnvironment.RequireTool("iproute2", "ip");
        Assert.SkipWhen(Environment.UserName != "root" && Environment.GetEnvironmentVariable("CI") is null, "network namespaces need root");
        var network = new NodeNetwork();
        try
        {
            await network.BuildAsync(nodes);
            return network;
        }
        catch
        {
            await network.DisposeAsync();
            throw;
        }
    }

    private async Task BuildAsync(int nodes)
    {
        var (_, used, _) = await TestEnvironment.RunAsync(_ip, ["-o", "-4", "addr", "show"], CommandTimeout);
        var third = Enumerable.Range(0, 256).Select(_ => Random.Shared.Next(256)).First(n => !used.Contains($"10.213.{n}.", StringComparison.Ordinal));
        _prefix = $"10.213.{third}.";
        Gateway = IPAddress.Parse(_prefix + "1");

        await IpAsync("link", "add", Bridge, "type", "bridge");
        await IpAsync("addr", "add", $"{Gateway}/24", "dev", Bridge);
        await IpAsync("link", "set", Bridge, "up");
        for (var i = 0; i < nodes; i++)
        {
            var (ns, outside, inside) = ($"txn{_token}{i}", $"txv{_token}{i}", $"txp{_token}{i}");
            var address = IPAddress.Parse(_prefix + (11 + i));
            await IpAsync("netns", "add", ns);
            _nodes.Add((ns, address));
            await IpAsync("link", "add", outside, "type", "veth", "peer", "name", inside);
            await IpAsync("link", "set", inside, "netns", ns);
            await IpAsync("link", "set", outside, "master", Bridge);
            await IpAsync("link", "set", outside, "up");
            await IpAsync("-n", ns, "link", "set", "lo", "up");
            await IpAsync("-n", ns, "addr", "add", $"{address}/24", "dev", inside);
            await IpAsync("-n", ns, "link", "set", inside, "up");
        }
    }

    /// <summary>Packets between nodes <paramref name="a"/> and <paramref name="b"/> are dropped, both ways, from now on.</summary>
    public async Task CutAsync(int a, int b)
    {
        await IpAsync("-n", _nodes[a].Namespace, "route", "add", "blackhole", $"{_nodes[b].Address}/32");
        await IpAsync("-n", _nodes[b].Namespace, "route", "add", "blackhole", $"{_nodes[a].Address}/32");
        _cuts.Add((a, b));
    }

    /// <summary>Every cut link carries packets again (connections that survived resume; TCP retransmits what was lost).</summary>
    public async Task HealAsync()
    {
        foreach (var (a, b) in _cuts)
        {
            await IpAsync("-n", _nodes[a].Namespace, "route", "del", "blackhole", $"{_nodes[b].Address}/32");
            await IpAsync("-n", _nodes[b].Namespace, "route", "del", "blackhole", $"{_nodes[a].Address}/32");
        }

        _cuts.Clear();
    }

    private static async Task IpAsync(params string[] args)
    {
        var (exit, _, stderr) = await TestEnvironment.RunAsync(_ip, args, CommandTimeout);
        Assert.True(exit == 0, $"ip {string.Join(' ', args)}: {stderr}");
    }

    /// <summary>Removes the namespaces (their ends of the links go with them) and the bridge; run once the processes inside are gone.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var (ns, _) in _nodes)
            await TestEnvironment.RunAsync(_ip, ["netns", "del", ns], CommandTimeout);
        if (Gateway != IPAddress.None)
            await TestEnvironment.RunAsync(_ip, ["link", "del", Bridge], CommandTimeout);
    }
}
