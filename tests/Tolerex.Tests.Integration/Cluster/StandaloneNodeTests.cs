namespace Tolerex.Tests.Integration.Cluster;

/// <summary>The original's manual launch: leader and members as plain processes configured by environment and flags.</summary>
public sealed class StandaloneNodeTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("tolerex-standalone-").FullName;

    private string Ca => Path.Combine(_data, "ca");

    public void Dispose() => Directory.Delete(_data, recursive: true);

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Theory(Timeout = 180_000)]
    [InlineData("TOLERANCE", "0", "tolerex-leader: configuration error: Tolerex:Leader:Tolerance (TOLERANCE) must be between 1 and 1000 (got '0')")]
    [InlineData("TOLERANCE", "two", "tolerex-leader: configuration error: Tolerex:Leader:Tolerance (TOLERANCE) must be a whole number (got 'two')")]
    [InlineData("TOLERANCE_CONF", "/nonexistent/tolerance.conf", "tolerex-leader: configuration error: cannot read tolerance file '/nonexistent/tolerance.conf'")]
    [InlineData("BALANCER_STRATEGY", "random", "tolerex-leader: configuration error: Tolerex:Leader:Balancer (BALANCER_STRATEGY) must be least_loaded or p2c (got 'random')")]
    [InlineData("LEADER_TCP_PORT", "99999", "tolerex-leader: configuration error: Tolerex:Leader:TcpPort (LEADER_TCP_PORT) must be between 0 and 65535 (got '99999')")]
    public async Task Leader_refuses_bad_configuration_with_a_clear_message(string key, string value, string message)
    {
        await using var leader = NodeProcess.Start("Tolerex.Leader", [], new Dictionary<string, string> { [key] = value }, Ca);
        Assert.Equal(2, await leader.WaitForExitAsync(Timeout));
        // One line, which names the setting.
        Assert.StartsWith(message, leader.Output, StringComparison.Ordinal);
        Assert.Single(leader.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact(Timeout = 180_000)]
    public async Task Leader_reads_the_tolerance_file()
    {
        var dir = Directory.CreateTempSubdirectory("tolerex-conf-").FullName;
        Directory.CreateDirectory(Path.Combine(dir, "config"));
        await File.WriteAllTextAsync(Path.Combine(dir, "config", "tolerance.conf"), "TOLERANCE=-1", TestContext.Current.CancellationToken);
        await using var leader = NodeProcess.Start("Tolerex.Leader", [], new Dictionary<string, string>(), Ca, workingDirectory: dir);
        Assert.Equal(2, await leader.WaitForExitAsync(Timeout));
        Assert.Equal("tolerex-leader: configuration error: config/tolerance.conf: tolerance must be greater than 0 (got -1)", leader.Output.Trim());
        Directory.Delete(dir, recursive: true);
    }

    [Fact(Timeout = 180_000)]
    public async Task Member_refuses_an_unknown_io_mode()
    {
        await using var member = NodeProcess.Start("Tolerex.Member", ["-io=turbo"], new Dictionary<string, string>(), Ca);
        Assert.Equal(2, await member.WaitForExitAsync(Timeout));
        Assert.Equal("tolerex-member: configuration error: Tolerex:Member:Io (MEMBER_IO_MODE) must be buffered or unbuffered (got 'turbo')", member.Output.Trim());
    }

    [Fact(Timeout = 180_000)]
    public async Task A_member_started_before_the_leader_keeps_retrying_and_survives_a_leader_restart()
    {
        var data = _data;
        int grpc = NodeProcess.FreePort(), tcp = NodeProcess.FreePort(), metrics = NodeProcess.FreePort();
        int memberPort = NodeProcess.FreePort(), memberMetrics = NodeProcess.FreePort();
        var leaderEnv = new Dictionary<string, string>
        {
            ["LEADER_GRPC_PORT"] = $"{grpc}",
            ["LEADER_TCP_PORT"] = $"{tcp}",
            ["LEADER_METRICS_PORT"] = $"{metrics}",
            ["TOLERANCE"] = "1",
        };

        await using var member = NodeProcess.Start("Tolerex.Member",
            [$"-port={memberPort}", "--metrics", $"{memberMetrics}", "--data-dir", data],
            new Dictionary<string, string> { ["LEADER_ADDR"] = $"localhost:{grpc}" }, Ca);
        await member.WaitForOutputAsync("unreachable", Timeout);

        string[] leaderArgs = ["--data-dir", Path.Combine(data, "leader")];
        await using (var leader = NodeProcess.Start("Tolerex.Leader", leaderArgs, leaderEnv, Ca))
        {
            await WaitForMemberAsync(tcp, memberPort);
            await using var c = await HaToKuSeConnection.OpenAsync("localhost", tcp);
            Assert.Equal("OK", await c.CommandAsync("SET 7 standalone"));
            Assert.Equal("standalone", await c.CommandAsync("GET 7"));
            leader.Kill();
        }

        Assert.False(member.HasExited);
        await using var restarted = NodeProcess.Start("Tolerex.Leader", leaderArgs, leaderEnv, Ca);
        // The restarted leader knows the member from its durable registry, but the member must register
        // again with this process (its heartbeat is told so); then it is alive, and its data still reads back.
        await WaitForMemberAsync(tcp, memberPort);
        Assert.False(member.HasExited);
        await using (var c = await HaToKuSeConnection.OpenAsync("localhost", tcp))
            Assert.Equal("standalone", await c.CommandAsync("GET 7"));
    }

    [Fact(Timeout = 180_000)]
    public async Task A_set_sent_while_members_are_still_joining_a_just_started_leader_waits_for_them()
    {
        int grpc = NodeProcess.FreePort(), memberPort = NodeProcess.FreePort();
        await using var leader = await StandaloneLeader.StartAsync(new Dictionary<string, string>
        {
            ["LEADER_GRPC_PORT"] = $"{grpc}",
            ["TOLERANCE"] = "1",
            // Members have this long after the leader starts to reach it before a SET without them fails.
            ["Tolerex__Leader__MemberTimeout"] = "00:00:30",
        }, caDirectory: Ca);
        await using var c = await HaToKuSeConnection.OpenAsync("localhost", leader.Port);
        var set = c.CommandAsync("SET 9 early");

        // No member yet: the SET is neither refused nor acknowledged.
        await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
        Assert.False(set.IsCompleted, "the SET answered before any member joined");
        await using var member = NodeProcess.Start("Tolerex.Member",
            [$"-port={memberPort}", "--metrics", $"{NodeProcess.FreePort()}", "--data-dir", Path.Combine(_data, "member")],
            new Dictionary<string, string> { ["LEADER_ADDR"] = $"localhost:{grpc}" }, Ca);
        Assert.Equal("OK", await set.WaitAsync(Timeout, TestContext.Current.CancellationToken));
        Assert.Equal("early", await c.CommandAsync("GET 9"));
    }

    [Fact(Timeout = 180_000)]
    public async Task A_member_given_several_leader_addresses_follows_whichever_node_leads_without_a_restart()
    {
        int grpcA = NodeProcess.FreePort(), grpcB = NodeProcess.FreePort();
        int memberPort = NodeProcess.FreePort(), memberMetrics = NodeProcess.FreePort();
        Dictionary<string, string> LeaderEnv(int grpc, int tcp) => new()
        {
            ["LEADER_GRPC_PORT"] = $"{grpc}",
            ["LEADER_TCP_PORT"] = $"{tcp}",
            ["LEADER_METRICS_PORT"] = $"{NodeProcess.FreePort()}",
            ["TOLERANCE"] = "1",
        };

        // Nothing listens at the first address yet: the member moves on to the second, where a leader runs.
        await using var member = NodeProcess.Start("Tolerex.Member",
            [$"-port={memberPort}", "--metrics", $"{memberMetrics}", "--data-dir", Path.Combine(_data, "member")],
            new Dictionary<string, string> { ["LEADER_ADDR"] = $"localhost:{grpcB},localhost:{grpcA}" }, Ca);
        var tcpA = NodeProcess.FreePort();
        await using (var leaderA = NodeProcess.Start("Tolerex.Leader", ["--data-dir", Path.Combine(_data, "leader-a")], LeaderEnv(grpcA, tcpA), Ca))
        {
            await WaitForMemberAsync(tcpA, memberPort);
            await using var c = await HaToKuSeConnection.OpenAsync("localhost", tcpA);
            Assert.Equal("OK", await c.CommandAsync("SET 8 first"));
            leaderA.Kill();
        }

        // The first address now leads: the same member process registers there and serves its copies.
        var tcpB = NodeProcess.FreePort();
        await using var leaderB = NodeProcess.Start("Tolerex.Leader", ["--data-dir", Path.Combine(_data, "leader-b")], LeaderEnv(grpcB, tcpB), Ca);
        await WaitForMemberAsync(tcpB, memberPort);
        Assert.False(member.HasExited);
        await using (var c = await HaToKuSeConnection.OpenAsync("localhost", tcpB))
        {
            Assert.Equal("OK", await c.CommandAsync("SET 9 second"));
            Assert.Equal("second", await c.CommandAsync("GET 9"));
        }
    }

    private static Task WaitForMemberAsync(int tcpPort, int memberPort) =>
        Eventually.HoldsAsync(async () =>
        {
            await using var c = await HaToKuSeConnection.OpenAsync("localhost", tcpPort);
            await c.SendAsync("MEMBERS\r\n");
            var alive = false;
            for (var line = await c.ReadLineAsync(); line != "END"; line = await c.ReadLineAsync())
                alive |= line.StartsWith($"https://localhost:{memberPort} ", StringComparison.Ordinal) && line.Contains("alive=true", StringComparison.Ordinal);
            return alive;
        }, Timeout, $"member on port {memberPort} registered and alive");
}
