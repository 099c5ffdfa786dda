using System.Diagnostics;

namespace Tolerex.Tests.Integration.Cluster;

/// <summary>The optional password on the HaToKuSe port, on a standalone leader process.</summary>
public sealed class AuthTests : IAsyncLifetime
{
    private const string Password = "s3cret phrase";
    private StandaloneLeader _leader = null!;

    public async ValueTask InitializeAsync() => _leader = await StandaloneLeader.StartAsync(new Dictionary<string, string>
    {
        ["TOLEREX_PASSWORD"] = Password,
        ["Tolerex__Leader__AuthFailureDelay"] = "300ms",
    });

    [Fact(Timeout = 180_000)]
    public async Task Commands_need_auth_and_a_wrong_password_is_answered_slowly()
    {
        await using var c = await HaToKuSeConnection.OpenAsync("localhost", _leader.Port);
        Assert.Equal("ERROR: auth required", await c.CommandAsync("GET 1"));
        Assert.Equal("ERROR: auth required", await c.CommandAsync("SET 1 x"));
        Assert.Equal("ERROR: auth required", await c.CommandAsync("MEMBERS"));
        Assert.Equal("PONG", await c.CommandAsync("PING"));

        var clock = Stopwatch.StartNew();
        Assert.Equal("ERROR: invalid password", await c.CommandAsync("AUTH guess"));
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(250), $"answered after {clock.Elapsed}");
        Assert.Equal("ERROR: auth required", await c.CommandAsync("GET 1"));

        Assert.Equal("OK", await c.CommandAsync("AUTH " + Password));
        Assert.Equal("NOT_FOUND", await c.CommandAsync("GET 1"));

        // Authentication belongs to the connection.
        await using var other = await HaToKuSeConnection.OpenAsync("localhost", _leader.Port);
        Assert.Equal("ERROR: auth required", await other.CommandAsync("GET 1"));
    }

    [Fact(Timeout = 180_000)]
    public async Task The_client_tools_authenticate_with_their_password_option()
    {
        var bench = await Tolerex.Client.Bench.BenchRunner.RunAsync(
            new("localhost", _leader.Port, Connections: 2, Requests: 10, GetRatio: 1, Password: Password), null, TestContext.Current.CancellationToken);
        Assert.Equal((10L, 0L), (bench.Requests, bench.Errors)); // GET misses, but no "auth required" errors

        using var output = new MemoryStream();
        var session = new Tolerex.Client.Session.InteractiveSession(new StringReader("GET 5\n"), output, TextWriter.Null, new() { Password = Password });
        Assert.Equal(0, await session.RunAsync([("localhost", _leader.Port)], TestContext.Current.CancellationToken));
        var text = System.Text.Encoding.UTF8.GetString(output.ToArray());
        Assert.EndsWith("NOT_FOUND\r\nBye\r\n", text, StringComparison.Ordinal);
    }

    public ValueTask DisposeAsync() => _leader.DisposeAsync();
}
