using System.Net.Sockets;
using System.Text;

namespace Tolerex.Tests.Integration.Cluster;

/// <summary>The HaToKuSe port served over TLS (Tolerex:Leader:Tls=true), with the client tool's --tls.</summary>
public sealed class TlsClientPortTests : IAsyncLifetime
{
    private readonly string _ca = Directory.CreateTempSubdirectory("tolerex-tls-port-").FullName;
    private StandaloneLeader _leader = null!;

    private string CaCertificate => Path.Combine(_ca, "ca.crt");

    public async ValueTask InitializeAsync() => _leader = await StandaloneLeader.StartAsync(new Dictionary<string, string>
    {
        ["Tolerex__Leader__Tls"] = "true",
        ["Tolerex__Tls__DevCaDirectory"] = _ca,
    }, tls: new Tolerex.Client.ClientTls(Path.Combine(_ca, "ca.crt")));

    [Fact(Timeout = 180_000)]
    public async Task The_interactive_client_round_trips_over_tls()
    {
        using var output = new MemoryStream();
        var session = new Tolerex.Client.Session.InteractiveSession(new StringReader("PING\nGET 5\n"), output, TextWriter.Null, new() { Tls = new(CaCertificate) });
        Assert.Equal(0, await session.RunAsync([("localhost", _leader.Port)], TestContext.Current.CancellationToken));
        var text = Encoding.UTF8.GetString(output.ToArray());
        Assert.Contains("PONG\r\n", text, StringComparison.Ordinal);
        Assert.Contains("NOT_FOUND\r\n", text, StringComparison.Ordinal);
        Assert.Contains("Bye", text, StringComparison.Ordinal);
    }

    [Fact(Timeout = 180_000)]
    public async Task Bench_runs_over_tls()
    {
        var result = await Tolerex.Client.Bench.BenchRunner.RunAsync(
            new("localhost", _leader.Port, Connections: 2, Requests: 20, GetRatio: 1, Tls: new(CaCertificate)), null, TestContext.Current.CancellationToken);
        Assert.Equal((20L, 0L), (result.Requests, result.Errors)); // GETs of missing ids: NOT_FOUND, no errors
    }

    [Fact(Timeout = 180_000)]
    public async Task A_client_that_does_not_trust_the_ca_or_speaks_plaintext_gets_nothing()
    {
        var stranger = Directory.CreateTempSubdirectory("tolerex-tls-stranger-").FullName;
        try
        {
            using var otherCa = Tolerex.ServiceDefaults.Identity.CertificateAuthority.Create("stranger", DateTimeOffset.UtcNow, TimeSpan.FromDays(1));
            otherCa.Save(Path.Combine(stranger, "ca.crt"), Path.Combine(stranger, "ca.key"));
            var error = new StringWriter();
            var session = new Tolerex.Client.Session.InteractiveSession(new StringReader("PING\n"), Stream.Null, error, new() { Tls = new(Path.Combine(stranger, "ca.crt")) });
            Assert.Equal(1, await session.RunAsync([("localhost", _leader.Port)], TestContext.Current.CancellationToken));
            Assert.Contains("TLS with the leader failed", error.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(stranger, recursive: true);
        }

        // Plaintext: the server waits for a TLS ClientHello, so a HaToKuSe line gets no banner and no reply.
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("localhost", _leader.Port, TestContext.Current.CancellationToken);
        var stream = tcp.GetStream();
        await stream.WriteAsync("PING\r\n"u8.ToArray(), TestContext.Current.CancellationToken);
        var buffer = new byte[256];
        int read;
        try
        {
            read = await stream.ReadAsync(buffer, TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(15), TestContext.Current.CancellationToken);
        }
        catch (IOException)
        {
            read = 0; // reset by the server
        }

        Assert.DoesNotContain("PONG", Encoding.ASCII.GetString(buffer, 0, read), StringComparison.Ordinal);
    }

    public async ValueTask DisposeAsync()
    {
        await _leader.DisposeAsync();
        Directory.Delete(_ca, recursive: true);
    }
}
