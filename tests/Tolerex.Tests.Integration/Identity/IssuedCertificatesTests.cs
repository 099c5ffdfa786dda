using System.Security.Cryptography.X509Certificates;

namespace Tolerex.Tests.Integration.Identity;

/// <summary><c>Tolerex.Leader issue-certificates</c>, the deployment's identities, used by real nodes the way a container gets them.</summary>
public sealed class IssuedCertificatesTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("tolerex-issued-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact(Timeout = 180_000)]
    public async Task Issued_identities_name_their_hosts_not_the_issuing_machine_keep_the_ca_key_out_and_let_a_leader_and_a_member_given_pem_text_work_together()
    {
        string caDir = Path.Combine(_dir, "ca"), output = Path.Combine(_dir, "out");
        var (exit, stdout, stderr) = await TestEnvironment.RunAsync(TestEnvironment.DotnetHost,
            [TestEnvironment.Beside("Tolerex.Leader.dll"), "issue-certificates", "--ca-dir", caDir, "--out", output,
                "--leader", "leader-0.leaders", "leader-1.leaders", "--member", "member-0=member-0.members", "--client", "client"], Timeout);
        Assert.True(exit == 0, stdout + stderr);

        Assert.Equal(["ca.crt", "client.crt", "client.key", "leader.crt", "leader.key", "member-0.crt", "member-0.key"],
            Directory.GetFiles(output).Select(Path.GetFileName).Order());
        Assert.True(File.Exists(Path.Combine(caDir, "ca.key")), "the CA's key stays in --ca-dir");
        using (var leaderCertificate = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(Path.Combine(output, "leader.crt"), TestContext.Current.CancellationToken)))
        {
            Assert.True(leaderCertificate.MatchesHostname("leader-1.leaders"));
            Assert.False(leaderCertificate.MatchesHostname("member-0.members"));
            // Issued for other machines: not valid for the one that issued it, and signed by a cluster CA, not a development one.
            var thisHost = System.Net.Dns.GetHostName();
            Assert.True(thisHost == "localhost" || !leaderCertificate.MatchesHostname(thisHost), $"valid for {thisHost}");
            Assert.Contains("CN=Tolerex cluster CA", leaderCertificate.Issuer);
        }

        // Run again: the same CA signs (a node issued before still trusts one issued now).
        var ca = await File.ReadAllTextAsync(Path.Combine(output, "ca.crt"), TestContext.Current.CancellationToken);
        Assert.Equal(0, (await TestEnvironment.RunAsync(TestEnvironment.DotnetHost,
            [TestEnvironment.Beside("Tolerex.Leader.dll"), "issue-certificates", "--ca-dir", caDir, "--out", output, "--member", "member-0"], Timeout)).Exit);
        Assert.Equal(ca, await File.ReadAllTextAsync(Path.Combine(output, "ca.crt"), TestContext.Current.CancellationToken));

        // Each node gets its identity as PEM text in Tolerex__Tls__* (as from a secret parameter), no file.
        Dictionary<string, string> Identity(string name) => new()
        {
            ["Tolerex__Tls__CaCertificate"] = ca,
            ["Tolerex__Tls__Certificate"] = File.ReadAllText(Path.Combine(output, name + ".crt")),
            ["Tolerex__Tls__Key"] = File.ReadAllText(Path.Combine(output, name + ".key")),
        };
        int grpc = NodeProcess.FreePort(), tcp = NodeProcess.FreePort(), memberPort = NodeProcess.FreePort();
        var leaderEnv = new Dictionary<string, string>(Identity("leader"))
        {
            ["LEADER_GRPC_PORT"] = $"{grpc}",
            ["LEADER_TCP_PORT"] = $"{tcp}",
            ["LEADER_METRICS_PORT"] = $"{NodeProcess.FreePort()}",
            ["TOLERANCE"] = "1",
        };
        var memberEnv = new Dictionary<string, string>(Identity("member-0")) { ["LEADER_ADDR"] = $"localhost:{grpc}", ["Tolerex__Member__Name"] = "member-0" };
        var unusedCa = Path.Combine(_dir, "dev-ca"); // configured identities: the development CA is never touched
        await using var leader = NodeProcess.Start("Tolerex.Leader", ["--data-dir", Path.Combine(_dir, "leader")], leaderEnv, unusedCa);
        await using var member = NodeProcess.Start("Tolerex.Member", [$"-port={memberPort}", "--metrics", $"{NodeProcess.FreePort()}", "--data-dir", Path.Combine(_dir, "member")],
            memberEnv, unusedCa);
        await Eventually.HoldsAsync(async () =>
        {
            await using var c = await HaToKuSeConnection.OpenAsync("localhost", tcp);
            return await c.CommandAsync("SET 1 issued") == "OK";
        }, Timeout, $"a SET stored on the member; leader:\n{leader.Output}\nmember:\n{member.Output}");
        await using (var c = await HaToKuSeConnection.OpenAsync("localhost", tcp))
            Assert.Equal("issued", await c.CommandAsync("GET 1"));
        Assert.Contains("(PEM text)", leader.Output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(unusedCa));
    }
}
