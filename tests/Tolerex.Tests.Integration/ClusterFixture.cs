using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Tolerex.Tests.Integration;

/// <summary>
/// Starts the real AppHost (DCP, leader and member processes) with its own data directory, and waits until
/// the leader answers on its HaToKuSe port and every member is registered and alive. With <see cref="Leaders"/>
/// above 1 the leader is a group (<c>leader1</c>…), and clients connect to <c>leader1</c>'s port.
/// </summary>
public class ClusterFixture : IAsyncLifetime
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    public int Leaders { get; protected init; } = 1;
    public int Members { get; protected init; } = 3;

    /// <summary>The leader nodes' resource names: <c>leader</c>, or <c>leader1</c>… for a group.</summary>
    public IReadOnlyList<string> LeaderResources => Leaders == 1 ? ["leader"] : [.. Enumerable.Range(1, Leaders).Select(i => $"leader{i}")];
    public int Tolerance { get; protected init; } = 2;
    /// <summary>
    /// Settings every leader node gets on top of the AppHost's (Tolerex__Leader__* variables). Fixtures whose
    /// tests read values back after members fail turn the leader's value cache off, so those reads come from
    /// the members and test what they hold.
    /// </summary>
    protected IReadOnlyDictionary<string, string> LeaderSettings { get; init; } = new Dictionary<string, string>();

    public DistributedApplication App { get; private set; } = null!;
    public string DataRoot { get; } = Directory.CreateTempSubdirectory("tolerex-it-").FullName;
    /// <summary>What the nodes logged, for failure messages.</summary>
    public ResourceLogs Logs { get; } = new();
    public string Host { get; private set; } = "localhost";
    public int Port { get; private set; }
    /// <summary>The first leader node's RESP port (the AppHost's endpoint <c>resp</c>, through Aspire's proxy).</summary>
    public int RespPort { get; private set; }

    public async ValueTask InitializeAsync()
    {
        using var cts = new CancellationTokenSource(StartTimeout);
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Tolerex_AppHost>(
            [$"--Tolerex:DataRoot={DataRoot}", $"--Tolerex:CertificateRoot={Path.Combine(DataRoot, "certs")}", $"--Parameters:leaders={Leaders}", $"--Parameters:members={Members}", $"--Parameters:tolerance={Tolerance}"],
            cts.Token);
        builder.Services.AddLogging(logging => logging.AddProvider(Logs));
        foreach (var leader in builder.Resources.OfType<ProjectResource>().Where(r => LeaderResources.Contains(r.Name)))
        {
            foreach (var (key, value) in LeaderSettings)
                builder.CreateResourceBuilder(leader).WithEnvironment(key, value);
        }
        App = await builder.BuildAsync(cts.Token);
        await App.StartAsync(cts.Token);
        foreach (var leader in LeaderResources)
            await App.ResourceNotifications.WaitForResourceHealthyAsync(leader, cts.Token);

        var endpoint = App.GetEndpoint(LeaderResources[0], "hatokuse");
        Host = endpoint.Host;
        Port = endpoint.Port;
        RespPort = App.GetEndpoint(LeaderResources[0], "resp").Port;
        await Eventually.HoldsAsync(async () => (await AliveMembersAsync()).Count == Members, StartTimeout, "all members registered and alive");

        // The first SET of a fresh cluster compiles its path on the leader and every member it touches, which can
        // take longer than a store timeout on a busy machine; it must still be acknowledged (slowly), not refused.
        // Tests then start from a cluster whose paths are warm, so their own timings measure what they test.
        // A leader group may still move its leadership while its nodes start on a busy machine; a connection to a
        // node that stops leading is closed (a SET in flight there fails: not acknowledged, as it must not be), and
        // a client connects again, as this one does, once.
        var reply = await FirstSetAsync();
        if (reply.StartsWith("closed:", StringComparison.Ordinal) && Leaders > 1)
            reply = await FirstSetAsync();

        if (reply != "OK")
        {
            // Only for the message: the nodes' last lines reach the AppHost's loggers a moment after they are written.
            await Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None);
            throw new InvalidOperationException($"the first SET of a fresh cluster was answered '{reply}'; the nodes said:\n{Logs.Last(120)}");
        }
    }

    /// <summary>SET then DEL of id 0 on a new connection: "OK", the first other reply, or "closed: …" when the connection ended (also right after a reply other than OK).</summary>
    private async Task<string> FirstSetAsync()
    {
        var reply = "";
        try
        {
            await using var first = await ConnectAsync();
            reply = await first.CommandAsync("SET 0 first").WaitAsync(StartTimeout);
            if (reply == "OK")
                return await first.CommandAsync("DEL 0");
            // A node that stops leading while the SET is in flight fails it (its index entry was not committed, so it
            // must not be acknowledged) and then closes the connection: the next command finds it closed.
            await first.CommandAsync("PING").WaitAsync(StartTimeout);
            return reply;
        }
        catch (Exception e) when (e is IOException or TimeoutException)
        {
            return $"closed: {e.Message}{(reply.Length > 0 ? $" (after '{reply}')" : "")}";
        }
    }

    public Task<HaToKuSeConnection> ConnectAsync(bool quiet = true) => HaToKuSeConnection.OpenAsync(Host, Port, quiet);

    /// <summary>MEMBERS, parsed into (name, alive) pairs.</summary>
    public async Task<List<(string Name, bool Alive, string Line)>> MembersAsync()
    {
        await using var c = await ConnectAsync();
        await c.SendAsync("MEMBERS\r\n");
        var members = new List<(string, bool, string)>();
        for (var line = await c.ReadLineAsync(); line != "END"; line = await c.ReadLineAsync())
        {
            var fields = line.Split(' ');
            var name = fields.First(f => f.StartsWith("name=", StringComparison.Ordinal))[5..];
            members.Add((name, fields.Contains("alive=true"), line));
        }

        return members;
    }

    public async Task<List<string>> AliveMembersAsync() =>
        [.. (await MembersAsync()).Where(m => m.Alive).Select(m => m.Name)];

    /// <summary>SIGKILLs a member's process (no graceful stop), as a crash would.</summary>
    public async Task KillAsync(string resource)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var state = await App.ResourceNotifications.WaitForResourceAsync(resource,
            e => e.Snapshot.Properties.Any(p => p.Name == "executable.pid" && p.Value is not null), cts.Token);
        var pid = Convert.ToInt32(state.Snapshot.Properties.First(p => p.Name == "executable.pid").Value, System.Globalization.CultureInfo.InvariantCulture);
        using var process = Process.GetProcessById(pid);
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync(cts.Token);
    }

    public async ValueTask DisposeAsync()
    {
        if (App is not null)
            await App.DisposeAsync();
        try
        {
            Directory.Delete(DataRoot, recursive: true);
        }
        catch (IOException)
        {
        }

        GC.SuppressFinalize(this);
    }
}
