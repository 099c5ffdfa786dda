namespace Tolerex.Tests.Integration;

/// <summary>A leader process with no members, its own data directory and free ports, for HaToKuSe-port tests.</summary>
public sealed class StandaloneLeader : IAsyncDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("tolerex-leader-").FullName;
    private NodeProcess _process = null!;

    public int Port { get; } = NodeProcess.FreePort();

    public NodeProcess Process => _process;

    /// <summary>Starts the leader with <paramref name="settings"/> added to its environment; returns when it answers PING.</summary>
    /// <param name="caDirectory">The development CA's folder (default: one of its own), for a test that starts members beside it.</param>
    public static async Task<StandaloneLeader> StartAsync(IDictionary<string, string> settings, Tolerex.Client.ClientTls? tls = null, string? caDirectory = null)
    {
        var leader = new StandaloneLeader();
        var environment = new Dictionary<string, string>(settings)
        {
            ["LEADER_TCP_PORT"] = $"{leader.Port}",
            ["LEADER_METRICS_PORT"] = $"{NodeProcess.FreePort()}",
        };
        environment.TryAdd("LEADER_GRPC_PORT", $"{NodeProcess.FreePort()}");
        leader._process = NodeProcess.Start("Tolerex.Leader", ["--data-dir", Path.Combine(leader._data, "leader")], environment, caDirectory ?? Path.Combine(leader._data, "ca"));
        await Eventually.HoldsAsync(async () =>
        {
            await using var c = await HaToKuSeConnection.OpenAsync("localhost", leader.Port, tls: tls);
            return await c.CommandAsync("PING") == "PONG";
        }, TimeSpan.FromSeconds(60), "leader answering");
        return leader;
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }
}
