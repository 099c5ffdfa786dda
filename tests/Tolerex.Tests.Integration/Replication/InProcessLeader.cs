using Microsoft.Extensions.Logging.Abstractions;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Consensus;
using Tolerex.Leader.Index;
using Tolerex.Leader.Membership;
using Tolerex.Leader.Placement;
using Tolerex.Leader.Replication;
using Tolerex.Protocol.V1;
using Tolerex.ServiceDefaults.Identity;

namespace Tolerex.Tests.Integration.Replication;

/// <summary>
/// The leader's SET/GET/DEL machinery built inside the test (registry, index, replication) in front of real
/// member processes, so a test can place members, slow them down or freeze them, and look at the index.
/// </summary>
internal sealed class InProcessLeader : IAsyncDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("tolerex-leader-side-").FullName;
    private readonly string _caDirectory;
    private readonly List<NodeProcess> _members = [];

    public InProcessLeader(LeaderOptions options)
    {
        options.DataDir = Path.Combine(_data, "leader");
        Options = options;
        // The test plays the leader: it shares a development CA with the member processes it starts.
        _caDirectory = Path.Combine(_data, "ca");
        var wrapped = Microsoft.Extensions.Options.Options.Create(options);
        Registry = new MemberRegistry(wrapped, NodeTls.Load(new TlsOptions { DevCaDirectory = _caDirectory }, PeerIdentity.Leader), NullLogger<MemberRegistry>.Instance);
        // A test helper built in a field initializer: starting the group of one takes milliseconds.
        (Group, Index) = OpenIndexAsync(new IndexMap()).GetAwaiter().GetResult();
        Coordinator = new ReplicationCoordinator(Registry, new ReplicaPlacement(Registry, new LeastLoadedBalancer()), Index,
            new VersionClock(), wrapped, NullLogger<ReplicationCoordinator>.Instance);
    }

    public LeaderOptions Options { get; }
    public MemberRegistry Registry { get; }
    public SoloGroup Group { get; private set; }
    public MessageIndex Index { get; private set; }
    public ReplicationCoordinator Coordinator { get; }

    /// <summary>Registers a member at <paramref name="address"/> under <paramref name="name"/> (its certificate's name) with <paramref name="load"/>.</summary>
    public async Task<MemberNode> RegisterAsync(string address, string name, MemberLoad load)
    {
        var member = Registry.GetOrAdd(address, name, Index.RecordMemberAsync, out var added);
        await member.Recorded;
        Registry.Registered(member, name, load, added);
        return member;
    }

    /// <summary>
    /// Starts a real member process and registers it under <paramref name="load"/>; <paramref name="route"/> maps
    /// its gRPC port to the port the leader dials (a fault proxy in front of it, say).
    /// </summary>
    public async Task<(NodeProcess Process, MemberNode Member)> StartMemberAsync(string name, MemberLoad load, Func<int, int>? route = null)
    {
        var port = NodeProcess.FreePort();
        // No leader listens where the member looks for one; it keeps retrying, which is fine here.
        var process = NodeProcess.Start("Tolerex.Member", ["--port", $"{port}", "--metrics", $"{NodeProcess.FreePort()}", "--data-dir", Path.Combine(_data, name)],
            new Dictionary<string, string>
            {
                ["LEADER_ADDR"] = $"localhost:{NodeProcess.FreePort()}",
                ["Tolerex__Member__Name"] = name,
            }, _caDirectory);
        _members.Add(process);
        await process.WaitForOutputAsync("Application started", TimeSpan.FromSeconds(60));
        return (process, await RegisterAsync($"localhost:{route?.Invoke(port) ?? port}", name, load));
    }

    /// <summary>The index as a restarted leader would recover it from disk.</summary>
    public async Task<IndexMap> RecoverIndexAsync()
    {
        await Group.DisposeAsync();
        var map = new IndexMap();
        (Group, _) = await OpenIndexAsync(map);
        return map;
    }

    private async Task<(SoloGroup, MessageIndex)> OpenIndexAsync(IndexMap map)
    {
        var wrapped = Microsoft.Extensions.Options.Options.Create(Options);
        var machine = new IndexStateMachine(map, Registry, wrapped, NullLogger<IndexStateMachine>.Instance);
        var group = await SoloGroup.StartAsync(machine, Options);
        return (group, new MessageIndex(map, group.Journal, machine, wrapped, NullLogger<MessageIndex>.Instance));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var m in _members)
            await m.DisposeAsync();
        await Coordinator.DisposeAsync();
        await Group.DisposeAsync();
        Registry.Dispose();
        Directory.Delete(_data, recursive: true);
    }
}
