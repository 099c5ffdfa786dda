using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Tolerex.Protocol.V1;
using Tolerex.ServiceDefaults.Identity;

namespace Tolerex.Tests.Integration.Identity;

/// <summary>
/// A real leader and member (processes) sharing a development CA, probed by callers holding other
/// certificates from that CA, from another CA, or none.
/// </summary>
public sealed class MutualTlsTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    /// <summary>How a connection refused during the TLS handshake surfaces through gRPC.</summary>
    private static readonly StatusCode[] Refused = [StatusCode.Unavailable, StatusCode.Internal];
    private readonly string _data = Directory.CreateTempSubdirectory("tolerex-mtls-").FullName;
    private readonly int _leaderGrpc = NodeProcess.FreePort(), _leaderTcp = NodeProcess.FreePort(), _memberPort = NodeProcess.FreePort();
    private NodeProcess _leader = null!, _member = null!;

    private string CaDirectory => Path.Combine(_data, "ca");
    private string MemberAddress => $"https://localhost:{_memberPort}";
    private string LeaderAddress => $"https://localhost:{_leaderGrpc}";

    public async ValueTask InitializeAsync()
    {
        _leader = NodeProcess.Start("Tolerex.Leader", ["--data-dir", Path.Combine(_data, "leader")], new Dictionary<string, string>
        {
            ["LEADER_GRPC_PORT"] = $"{_leaderGrpc}",
            ["LEADER_TCP_PORT"] = $"{_leaderTcp}",
            ["LEADER_METRICS_PORT"] = $"{NodeProcess.FreePort()}",
            ["TOLERANCE"] = "1",
        }, CaDirectory);
        _member = NodeProcess.Start("Tolerex.Member", ["--port", $"{_memberPort}", "--metrics", $"{NodeProcess.FreePort()}", "--data-dir", Path.Combine(_data, "member")],
            new Dictionary<string, string>
            {
                ["LEADER_ADDR"] = $"localhost:{_leaderGrpc}",
                ["Tolerex__Member__Name"] = "member-a",
            }, CaDirectory);
        await Eventually.HoldsAsync(async () =>
        {
            await using var c = await HaToKuSeConnection.OpenAsync("localhost", _leaderTcp);
            await c.SendAsync("MEMBERS\r\n");
            var alive = false;
            for (var line = await c.ReadLineAsync(); line != "END"; line = await c.ReadLineAsync())
                alive |= line.StartsWith($"{MemberAddress} name=member-a alive=true", StringComparison.Ordinal);
            return alive;
        }, Timeout, "member-a registered over mutual TLS");
    }

    private NodeTls Identity(NodeRole role, string name, string? caDirectory = null) =>
        NodeTls.Load(new TlsOptions { DevCaDirectory = caDirectory ?? CaDirectory }, new PeerIdentity(role, name));

    private static GrpcChannel Channel(string address, NodeTls tls) =>
        NodeChannels.Create(address, tls, _ => true, TimeSpan.FromSeconds(5), 1024 * 1024);

    /// <summary>Stores one copy on its own store stream; a refused caller gets the call's RpcException.</summary>
    private static async Task StoreAsync(GrpcChannel channel, Copy copy)
    {
        using var call = new Copies.CopiesClient(channel).StoreStream(cancellationToken: Ct);
        try
        {
            await call.RequestStream.WriteAsync(new StoreBatch { Sequence = 1, Items = { copy } }, Ct);
            await call.RequestStream.CompleteAsync();
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
            // The call already ended (a refused connection can fail the write itself, before any status arrived);
            // its status is what the reply read below reports.
        }

        await call.ResponseStream.MoveNext(Ct);
    }

    private static Copy Copy(long id) => new() { Id = id, Version = 1, Payload = ByteString.CopyFromUtf8("probe") };

    /// <summary>The leader group's Raft endpoint on the gRPC port, called as <paramref name="role"/> over mutual TLS.</summary>
    private async Task<System.Net.HttpStatusCode> ConsensusStatusAsync(NodeRole role)
    {
        using var handler = new SocketsHttpHandler { SslOptions = NodeChannels.ClientOptions(Identity(role, $"probe-{role}".ToLowerInvariant()), _ => true) };
        using var http = new HttpClient(handler) { DefaultRequestVersion = System.Net.HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var reply = await http.PostAsync($"{LeaderAddress}/tolerex/consensus", new ByteArrayContent([]), Ct);
        return reply.StatusCode;
    }

    [Fact(Timeout = 180_000)]
    public async Task Only_a_leader_identity_may_speak_to_the_leader_group()
    {
        // A member or client certificate cannot take part in elections or replication: refused before Raft reads it.
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, await ConsensusStatusAsync(NodeRole.Member));
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, await ConsensusStatusAsync(NodeRole.Client));
        // A leader certificate reaches Raft (which rejects this empty message for what it is, not for who sent it).
        Assert.NotEqual(System.Net.HttpStatusCode.Forbidden, await ConsensusStatusAsync(NodeRole.Leader));
    }

    [Fact(Timeout = 180_000)]
    public async Task A_member_serves_its_copies_to_the_leader_identity_only()
    {
        using (var leader = Channel(MemberAddress, Identity(NodeRole.Leader, "leader")))
        {
            var copies = new Copies.CopiesClient(leader);
            Assert.False((await copies.RetrieveAsync(new RetrieveRequest { Id = 42 }, cancellationToken: Ct)).Found);
            Assert.False((await copies.DeleteAsync(new DeleteRequest { Id = 42, Version = 2 }, cancellationToken: Ct)).Deleted);
        }

        foreach (var caller in new[] { Identity(NodeRole.Client, "client"), Identity(NodeRole.Member, "member-b") })
        {
            using var channel = Channel(MemberAddress, caller);
            var client = new Copies.CopiesClient(channel);
            var retrieve = await Assert.ThrowsAsync<RpcException>(async () => await client.RetrieveAsync(new RetrieveRequest { Id = 42 }, cancellationToken: Ct));
            Assert.Equal(StatusCode.PermissionDenied, retrieve.StatusCode);
            var delete = await Assert.ThrowsAsync<RpcException>(async () => await client.DeleteAsync(new DeleteRequest { Id = 42, Version = 3 }, cancellationToken: Ct));
            Assert.Equal(StatusCode.PermissionDenied, delete.StatusCode);
        }
    }

    [Fact(Timeout = 180_000)]
    public async Task The_store_stream_is_served_to_the_leader_identity_only()
    {
        using (var leader = Channel(MemberAddress, Identity(NodeRole.Leader, "leader")))
        {
            using var call = new Copies.CopiesClient(leader).StoreStream(cancellationToken: Ct);
            await call.RequestStream.WriteAsync(new StoreBatch { Sequence = 7, Items = { Copy(44), Copy(45) } }, Ct);
            Assert.True(await call.ResponseStream.MoveNext(Ct));
            Assert.Equal((7L, 2, false), (call.ResponseStream.Current.Sequence, call.ResponseStream.Current.HeldVersions.Count, call.ResponseStream.Current.Failed));
            await call.RequestStream.CompleteAsync();
            Assert.False(await call.ResponseStream.MoveNext(Ct));
        }

        foreach (var caller in new[] { Identity(NodeRole.Client, "client"), Identity(NodeRole.Member, "member-b") })
        {
            using var channel = Channel(MemberAddress, caller);
            using var call = new Copies.CopiesClient(channel).StoreStream(cancellationToken: Ct);
            try
            {
                await call.RequestStream.WriteAsync(new StoreBatch { Sequence = 1, Items = { Copy(46) } }, Ct);
            }
            catch (RpcException)
            {
                // Refused before the write went out; the status is read below.
            }

            var refused = await Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext(Ct));
            Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        }
    }

    [Fact(Timeout = 180_000)]
    public async Task Plaintext_and_wrong_ca_callers_are_refused_by_member_and_leader()
    {
        // Callers that trust our CA (so the failure is the server's refusal, not theirs) but hold a
        // leader or member certificate from another CA.
        var trusted = Identity(NodeRole.Client, "probe").Authority;
        var strangerCa = Path.Combine(_data, "other-ca");
        var impostor = new NodeTls(trusted, Identity(NodeRole.Leader, "leader", strangerCa).Certificate, []);
        using (var channel = Channel(MemberAddress, impostor))
        {
            var e = await Assert.ThrowsAsync<RpcException>(async () => await StoreAsync(channel, Copy(44)));
            Assert.Contains(e.StatusCode, Refused);
        }

        var foreignMember = new NodeTls(trusted, Identity(NodeRole.Member, "member-a", strangerCa).Certificate, []);
        using (var channel = Channel(LeaderAddress, foreignMember))
        {
            var e = await Assert.ThrowsAsync<RpcException>(async () =>
                await new Registration.RegistrationClient(channel).HeartbeatAsync(new HeartbeatRequest { Address = MemberAddress }, cancellationToken: Ct));
            Assert.Contains(e.StatusCode, Refused);
        }

        foreach (var port in new[] { _memberPort, _leaderGrpc })
        {
            using var plaintext = GrpcChannel.ForAddress($"http://localhost:{port}");
            var e = await Assert.ThrowsAsync<RpcException>(async () => await StoreAsync(plaintext, Copy(45)));
            Assert.Contains(e.StatusCode, Refused);
        }

        // Nothing the refused callers sent was stored.
        using var leader = Channel(MemberAddress, Identity(NodeRole.Leader, "leader"));
        foreach (var id in new[] { 44L, 45L })
            Assert.False((await new Copies.CopiesClient(leader).RetrieveAsync(new RetrieveRequest { Id = id }, cancellationToken: Ct)).Found);
    }

    [Fact(Timeout = 180_000)]
    public async Task A_member_cannot_register_or_heartbeat_as_another()
    {
        using var channel = Channel(LeaderAddress, Identity(NodeRole.Member, "member-b"));
        var membership = new Registration.RegistrationClient(channel);
        var heartbeat = await Assert.ThrowsAsync<RpcException>(async () => await membership.HeartbeatAsync(new HeartbeatRequest { Address = MemberAddress }, cancellationToken: Ct));
        Assert.Equal(StatusCode.PermissionDenied, heartbeat.StatusCode);
        Assert.Contains("member-a", heartbeat.Status.Detail, StringComparison.Ordinal);
        var register = await Assert.ThrowsAsync<RpcException>(async () =>
            await membership.RegisterAsync(new RegisterRequest { Address = $"localhost:{_memberPort}", Name = "member-a" }, cancellationToken: Ct));
        Assert.Equal(StatusCode.PermissionDenied, register.StatusCode);

        // Neither a client nor the leader identity may act as a member at all.
        foreach (var caller in new[] { Identity(NodeRole.Client, "client"), Identity(NodeRole.Leader, "leader") })
        {
            using var other = Channel(LeaderAddress, caller);
            var e = await Assert.ThrowsAsync<RpcException>(async () =>
                await new Registration.RegistrationClient(other).RegisterAsync(new RegisterRequest { Address = $"localhost:{NodeProcess.FreePort()}", Name = "x" }, cancellationToken: Ct));
            Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
        }

        // The real member-a is still registered and alive: the impostors changed nothing.
        await using var c = await HaToKuSeConnection.OpenAsync("localhost", _leaderTcp);
        Assert.Equal("OK", await c.CommandAsync("SET 1 still-served"));
        Assert.Equal("still-served", await c.CommandAsync("GET 1"));
    }

    public async ValueTask DisposeAsync()
    {
        await _member.DisposeAsync();
        await _leader.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }
}
