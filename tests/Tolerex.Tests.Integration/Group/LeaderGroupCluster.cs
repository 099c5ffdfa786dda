namespace Tolerex.Tests.Integration.Group;

/// <summary>
/// A leader group (<c>LEADER_PEERS</c>) and members as real processes, each leader node with its own ports and
/// data directory, the members given every leader's gRPC address, so a test can kill -9 and restart any leader
/// node on its data and see the group elect another. On a <see cref="NodeNetwork"/>, each leader node runs in
/// its own network namespace (at its own address, with the same ports), so the test can partition them.
/// </summary>
public sealed class LeaderGroupCluster : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly string _data = Directory.CreateTempSubdirectory("tolerex-group-").FullName;
    private readonly IDictionary<string, string> _settings;
    private readonly List<NodeProcess> _members = [];

    private LeaderGroupCluster(int leaders, IDictionary<string, string> settings, NodeNetwork? network)
    {
        _settings = settings;
        Nodes = Enumerable.Range(0, leaders).Select(i => new LeaderNode($"leader-{i}", NodeProcess.FreePort(), NodeProcess.FreePort(), NodeProcess.FreePort())
        {
            Host = network?.AddressOf(i).ToString() ?? "localhost",
            Namespace = network?.NamespaceOf(i),
        }).ToList();
    }

    public IReadOnlyList<LeaderNode> Nodes { get; }

    /// <summary>What the group tests run with: tolerance 2 of 3 members, members found down within 2 s, clients waiting at most 3 s for a leader.</summary>
    public static Dictionary<string, string> Settings() => new()
    {
        ["Tolerex__Leader__Tolerance"] = "2",
        ["Tolerex__Leader__HeartbeatInterval"] = "500ms",
        ["Tolerex__Leader__MemberTimeout"] = "2s",
        ["Tolerex__Leader__NoLeaderTimeout"] = "3s",
    };

    /// <summary>True while every member process started with the group still runs.</summary>
    public bool MembersRunning => _members.All(m => !m.HasExited);
    private string Ca => Path.Combine(_data, "ca");
    private string Peers => string.Join(',', Nodes.Select(n => $"{n.Host}:{n.GrpcPort}"));

    public static async Task<LeaderGroupCluster> StartAsync(int leaders, int members, IDictionary<string, string> settings, NodeNetwork? network = null)
    {
        var cluster = new LeaderGroupCluster(leaders, settings, network);
        try
        {
            foreach (var node in cluster.Nodes)
                cluster.Start(node);
            for (var i = 0; i < members; i++)
            {
                var port = NodeProcess.FreePort();
                var environment = new Dictionary<string, string>
                {
                    ["Tolerex__Member__Leader"] = cluster.Peers,
                    ["Tolerex__Member__Name"] = $"member{i}",
                    ["Tolerex__Member__Port"] = $"{port}",
                    ["Tolerex__Member__MetricsPort"] = $"{NodeProcess.FreePort()}",
                    ["Tolerex__Member__DataDir"] = Path.Combine(cluster._data, $"member{i}"),
                };
                if (network is not null)
                    environment["Tolerex__Member__AdvertiseAddress"] = $"https://{network.Gateway}:{port}"; // where the leaders' namespaces reach it
                cluster._members.Add(NodeProcess.Start("Tolerex.Member", [], environment, cluster.Ca));
            }

            await cluster.WaitForAliveAsync(members, StartTimeout);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private void Start(LeaderNode node)
    {
        var environment = new Dictionary<string, string>(_settings)
        {
            ["LEADER_PEERS"] = Peers,
            ["Tolerex__Leader__Name"] = node.Name,
            ["Tolerex__Leader__TcpPort"] = $"{node.TcpPort}",
            ["Tolerex__Leader__RespPort"] = $"{node.RespPort}",
            ["Tolerex__Leader__GrpcPort"] = $"{node.GrpcPort}",
            ["Tolerex__Leader__MetricsPort"] = $"{node.MetricsPort}",
            ["Tolerex__Leader__Banner"] = "false",
        };
        if (node.Namespace is not null)
            environment["Tolerex__Leader__TcpListenAddress"] = node.Host;
        node.Process = NodeProcess.Start("Tolerex.Leader", ["--data-dir", Path.Combine(_data, node.Name)], environment, Ca, networkNamespace: node.Namespace);
    }

    /// <summary>kill -9 of <paramref name="node"/>.</summary>
    public async Task KillAsync(LeaderNode node)
    {
        node.Process!.Kill();
        await node.Process.WaitForExitAsync(StartTimeout);
    }

    /// <summary>Starts <paramref name="node"/> again on its data directory and ports.</summary>
    public async Task RestartAsync(LeaderNode node)
    {
        await node.Process!.DisposeAsync();
        Start(node);
    }

    /// <summary>A HaToKuSe connection to <paramref name="node"/> (which forwards it while another node leads).</summary>
    public static Task<HaToKuSeConnection> ConnectAsync(LeaderNode node, bool quiet = true) => HaToKuSeConnection.OpenAsync(node.Host, node.TcpPort, quiet);

    /// <summary>The node leading the group, as the first running node that answers STATUS names it; null while none does.</summary>
    public async Task<LeaderNode?> CurrentLeaderAsync()
    {
        foreach (var node in Nodes.Where(n => n.Process is { HasExited: false }))
        {
            if (await LeaderAsync(node) is { } leader)
                return leader;
        }

        return null;
    }

    /// <summary>STATUS through <paramref name="via"/>'s HaToKuSe port (a node that does not lead forwards it to the one that does).</summary>
    public static async Task<IReadOnlyDictionary<string, string>> StatusAsync(LeaderNode via)
    {
        await using var c = await ConnectAsync(via);
        await c.SendAsync("STATUS\r\n");
        var status = new Dictionary<string, string>();
        for (var line = await c.ReadLineAsync(); line != "END"; line = await c.ReadLineAsync())
        {
            if (line.StartsWith("ERROR", StringComparison.Ordinal))
                throw new IOException(line);
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            status[line[..eq]] = line[(eq + 1)..];
        }

        return status;
    }

    /// <summary>The node leading the group, as STATUS through <paramref name="via"/> names it (null while none answers).</summary>
    public async Task<LeaderNode?> LeaderAsync(LeaderNode via)
    {
        try
        {
            var status = await StatusAsync(via);
            return status["role"] == "leader" ? Nodes.Single(n => n.Name == status["node"]) : null;
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            return null;
        }
    }

    public async Task WaitForAliveAsync(int members, TimeSpan timeout) => await Eventually.HoldsAsync(async () =>
    {
        foreach (var node in Nodes.Where(n => n.Process is { HasExited: false }))
        {
            try
            {
                var status = await StatusAsync(node);
                return status["role"] == "leader" && int.Parse(status["members_alive"], System.Globalization.CultureInfo.InvariantCulture) >= members;
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or KeyNotFoundException)
            {
            }
        }

        return false;
    }, timeout, $"a leader with {members} members alive; logs:\n{Logs(25)}");

    /// <summary>Awaits <paramref name="wait"/>; a timeout gets every node's latest log lines added to its message.</summary>
    public async Task WithLogsOnTimeoutAsync(Task wait)
    {
        try
        {
            await wait;
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; logs:\n{Logs(40)}", e);
        }
    }

    /// <summary>The last <paramref name="lines"/> lines of every node's output, for a failure message.</summary>
    public string Logs(int lines) => string.Join("\n",
        Nodes.Select(n => (n.Name, n.Process)).Concat(_members.Select((m, i) => ($"member{i}", (NodeProcess?)m)))
            .Select(n => $"--- {n.Item1} (exited: {n.Item2?.HasExited})\n{string.Join('\n', (n.Item2?.Output ?? "").Split('\n').TakeLast(lines))}"));

    public async ValueTask DisposeAsync()
    {
        foreach (var member in _members)
            await member.DisposeAsync();
        foreach (var node in Nodes)
        {
            if (node.Process is not null)
                await node.Process.DisposeAsync();
        }

        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
            // a process still closing a file; the temporary directory goes with the machine's cleanup
        }
    }
}

/// <summary>One node of the leader group: its name and ports, and its process while it runs.</summary>
public sealed class LeaderNode(string name, int grpcPort, int tcpPort, int metricsPort)
{
    public string Name { get; } = name;
    public int GrpcPort { get; } = grpcPort;
    public int TcpPort { get; } = tcpPort;
    public int MetricsPort { get; } = metricsPort;
    /// <summary>Its RESP port: a follower passes RESP clients to the leader's.</summary>
    public int RespPort { get; } = NodeProcess.FreePort();
    /// <summary>Where clients and the other nodes reach it: localhost, or its address in its own network namespace.</summary>
    public string Host { get; init; } = "localhost";
    public string? Namespace { get; init; }
    public NodeProcess? Process { get; set; }
}
