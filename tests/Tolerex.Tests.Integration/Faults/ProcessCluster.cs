using System.Globalization;

namespace Tolerex.Tests.Integration.Faults;

/// <summary>
/// A leader and members as real processes, each with fixed ports and its own data directory, so a test can
/// kill -9, freeze (SIGSTOP) and restart any of them on the same data; with <c>proxied</c>, every link between
/// the leader and a member goes through a <see cref="FaultProxy"/>: the leader's calls to the member (the
/// member advertises the proxy's port) and the member's registration and heartbeats (it dials the leader
/// through its own proxy), so a test can cut either way or both; and clients may reach the leader through a
/// proxy of their own (<see cref="ClientProxy"/>).
/// </summary>
public sealed class ProcessCluster : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly string _data = Directory.CreateTempSubdirectory("tolerex-cluster-").FullName;
    private readonly IDictionary<string, string> _leaderSettings;
    private readonly int _grpcPort = NodeProcess.FreePort();
    private readonly int _metricsPort = NodeProcess.FreePort();
    private readonly List<ClusterMember> _members = [];

    private ProcessCluster(IDictionary<string, string> leaderSettings, bool proxied)
    {
        _leaderSettings = leaderSettings;
        ClientProxy = proxied ? FaultProxy.Start(Port) : null;
    }

    public int Port { get; } = NodeProcess.FreePort();
    /// <summary>With <c>proxied</c>, a proxy in front of the leader's HaToKuSe port, for clients (<see cref="ConnectViaProxyAsync"/>).</summary>
    public FaultProxy? ClientProxy { get; }
    /// <summary>The leader's Prometheus endpoint (<c>/metrics</c>) port.</summary>
    public int MetricsPort => _metricsPort;
    public NodeProcess Leader { get; private set; } = null!;
    public IReadOnlyList<ClusterMember> Members => _members;
    private string Ca => Path.Combine(_data, "ca");

    /// <summary>
    /// Starts a leader with <paramref name="leaderSettings"/> (Tolerex__Leader__* and the like) and
    /// <paramref name="members"/> members, and returns once every member is alive at the leader.
    /// </summary>
    /// <param name="members">How many members.</param>
    /// <param name="leaderSettings">Settings of the leader.</param>
    /// <param name="proxied">Put a <see cref="FaultProxy"/> between the leader and each member.</param>
    /// <param name="memberSettings">Settings of every member.</param>
    /// <param name="dataDirectoryOf">A member's data directory by its index (null: one under the cluster's directory).</param>
    public static async Task<ProcessCluster> StartAsync(int members, IDictionary<string, string> leaderSettings, bool proxied = false,
        IDictionary<string, string>? memberSettings = null, Func<int, string?>? dataDirectoryOf = null)
    {
        var cluster = new ProcessCluster(leaderSettings, proxied);
        try
        {
            cluster.StartLeader();
            for (var i = 0; i < members; i++)
            {
                var member = new ClusterMember(cluster, $"member{i}", proxied, memberSettings ?? new Dictionary<string, string>(), dataDirectoryOf?.Invoke(i));
                cluster._members.Add(member);
                member.Start();
            }

            await cluster.WaitForLeaderAsync();
            await cluster.WaitForAliveAsync(members);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private void StartLeader()
    {
        var environment = new Dictionary<string, string>(_leaderSettings)
        {
            ["Tolerex__Leader__TcpPort"] = $"{Port}",
            ["Tolerex__Leader__GrpcPort"] = $"{_grpcPort}",
            ["Tolerex__Leader__MetricsPort"] = $"{_metricsPort}",
            ["Tolerex__Leader__Banner"] = "false",
        };
        // Reads in these tests are about what the members hold through faults: the leader's value cache stays off
        // unless a test turns it on (the history tests do: a linearizable history covers the cache too).
        environment.TryAdd("Tolerex__Leader__ValueCacheBytes", "0");
        Leader = NodeProcess.Start("Tolerex.Leader", ["--data-dir", Path.Combine(_data, "leader")], environment, Ca);
    }

    /// <summary>kill -9 of the leader.</summary>
    public async Task KillLeaderAsync()
    {
        Leader.Kill();
        await Leader.WaitForExitAsync(StartTimeout);
    }

    /// <summary>
    /// Starts the leader again on its data directory and ports; returns once it answers and, when given,
    /// <paramref name="alive"/> members are alive.
    /// </summary>
    public async Task RestartLeaderAsync(int? alive = null)
    {
        await Leader.DisposeAsync();
        StartLeader();
        await WaitForLeaderAsync();
        if (alive is { } count)
            await WaitForAliveAsync(count);
    }

    private Task WaitForLeaderAsync() => HoldsAsync(async () =>
    {
        try
        {
            await using var c = await ConnectAsync();
            return await c.CommandAsync("PING") == "PONG";
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            return false;
        }
    }, StartTimeout, "leader answering");

    public Task<HaToKuSeConnection> ConnectAsync() => HaToKuSeConnection.OpenAsync("localhost", Port);

    /// <summary>A client connection through <see cref="ClientProxy"/>.</summary>
    public Task<HaToKuSeConnection> ConnectViaProxyAsync() => HaToKuSeConnection.OpenAsync("localhost", ClientProxy!.Port);

    /// <summary>The leader's STATUS, as key → value.</summary>
    public async Task<IReadOnlyDictionary<string, string>> StatusAsync()
    {
        await using var c = await ConnectAsync();
        await c.SendAsync("STATUS\r\n");
        var status = new Dictionary<string, string>();
        for (var line = await c.ReadLineAsync(); line != "END"; line = await c.ReadLineAsync())
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            status[line[..eq]] = line[(eq + 1)..];
        }

        return status;
    }

    public async Task<long> StatusValueAsync(string key) => long.Parse((await StatusAsync())[key], CultureInfo.InvariantCulture);

    /// <summary>How many copies each member holds (in <see cref="Members"/> order), from one MEMBERS reply.</summary>
    public async Task<long[]> MessagesPerMemberAsync()
    {
        var members = await MembersAsync();
        return _members.Select(m => m.MessagesIn(members)).ToArray();
    }

    /// <summary>The leader's MEMBERS lines.</summary>
    public async Task<IReadOnlyList<string>> MembersAsync()
    {
        await using var c = await ConnectAsync();
        await c.SendAsync("MEMBERS\r\n");
        var lines = new List<string>();
        for (var line = await c.ReadLineAsync(); line != "END"; line = await c.ReadLineAsync())
            lines.Add(line);
        return lines;
    }

    /// <summary>Waits until <paramref name="count"/> members are alive at the leader.</summary>
    public Task WaitForAliveAsync(int count) => HoldsAsync(async () =>
    {
        try
        {
            return await StatusValueAsync("members_alive") == count;
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            return false;
        }
    }, StartTimeout, $"{count} members alive");

    /// <summary>Waits until every id has Tolerance live copies again and repair is idle.</summary>
    public Task WaitForRepairedAsync(TimeSpan timeout) => HoldsAsync(async () =>
    {
        var status = await StatusAsync();
        return status["under_replicated"] == "0" && status["repair"] == "idle";
    }, timeout, "under_replicated=0 and repair=idle");

    /// <summary>Like <see cref="Eventually.HoldsAsync"/>, with the end of the leader's log in the failure.</summary>
    public async Task HoldsAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        try
        {
            await Eventually.HoldsAsync(condition, timeout, what);
        }
        catch (TimeoutException e)
        {
            var tail = string.Join('\n', Leader.Output.Split('\n').TakeLast(60));
            throw new TimeoutException($"{e.Message}\nleader log (end):\n{tail}", e);
        }
    }

    internal string DataOf(string name) => Path.Combine(_data, name);

    internal int LeaderGrpcPort => _grpcPort;

    internal NodeProcess StartMember(string name, int port, int metrics, string advertised, int leaderPort, string dataDirectory, IDictionary<string, string> settings)
    {
        var environment = new Dictionary<string, string>(settings)
        {
            ["Tolerex__Member__Leader"] = $"localhost:{leaderPort}",
            ["Tolerex__Member__Name"] = name,
            ["Tolerex__Member__Port"] = $"{port}",
            ["Tolerex__Member__MetricsPort"] = $"{metrics}",
            ["Tolerex__Member__AdvertiseAddress"] = advertised,
            ["Tolerex__Member__DataDir"] = dataDirectory,
        };
        return NodeProcess.Start("Tolerex.Member", [], environment, Ca);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var member in _members)
            await member.DisposeAsync();
        if (Leader is not null)
            await Leader.DisposeAsync();
        if (ClientProxy is not null)
            await ClientProxy.DisposeAsync();
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

/// <summary>One member of a <see cref="ProcessCluster"/>: its process (restartable on the same data) and its proxy, if any.</summary>
public sealed class ClusterMember : IAsyncDisposable
{
    private readonly ProcessCluster _cluster;
    private readonly IDictionary<string, string> _settings;
    private readonly int _port = NodeProcess.FreePort();
    private readonly int _metrics = NodeProcess.FreePort();

    internal ClusterMember(ProcessCluster cluster, string name, bool proxied, IDictionary<string, string> settings, string? dataDirectory)
    {
        _cluster = cluster;
        _settings = settings;
        Name = name;
        DataDirectory = dataDirectory ?? cluster.DataOf(name);
        Proxy = proxied ? FaultProxy.Start(_port) : null;
        Uplink = proxied ? FaultProxy.Start(cluster.LeaderGrpcPort) : null;
    }

    public string Name { get; }
    /// <summary>The member's Prometheus endpoint (<c>/metrics</c>) port.</summary>
    public int MetricsPort => _metrics;
    /// <summary>The leader's calls to this member pass here (null when the cluster is not proxied).</summary>
    public FaultProxy? Proxy { get; }
    /// <summary>This member's registration and heartbeats to the leader pass here (null when not proxied).</summary>
    public FaultProxy? Uplink { get; }
    public NodeProcess Process { get; private set; } = null!;
    /// <summary>The address the leader knows this member by.</summary>
    public string Address => $"https://localhost:{Proxy?.Port ?? _port}";
    public string DataDirectory { get; }

    internal void Start() => Process = _cluster.StartMember(Name, _port, _metrics, Address, Uplink?.Port ?? _cluster.LeaderGrpcPort, DataDirectory, _settings);

    /// <summary>kill -9.</summary>
    public async Task KillAsync()
    {
        Process.Kill();
        await Process.WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Starts the member again on its data directory and ports.</summary>
    public async Task RestartAsync()
    {
        await Process.DisposeAsync();
        Start();
    }

    /// <summary>SIGSTOP (true) or SIGCONT (false).</summary>
    public void Freeze(bool stop) => Process.Freeze(stop);

    /// <summary>How many copies the member holds, as the leader's MEMBERS shows it.</summary>
    public async Task<long> MessagesAsync() => MessagesIn(await _cluster.MembersAsync());

    /// <summary>This member's <c>messages=</c> in a MEMBERS reply.</summary>
    internal long MessagesIn(IReadOnlyList<string> members)
    {
        var line = members.Single(l => l.StartsWith(Address + " ", StringComparison.Ordinal));
        var field = line.Split(' ').Single(f => f.StartsWith("messages=", StringComparison.Ordinal));
        return long.Parse(field["messages=".Length..], CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        if (Process is not null)
            await Process.DisposeAsync();
        if (Proxy is not null)
            await Proxy.DisposeAsync();
        if (Uplink is not null)
            await Uplink.DisposeAsync();
    }
}
