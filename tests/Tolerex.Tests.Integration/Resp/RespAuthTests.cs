namespace Tolerex.Tests.Integration.Resp;

/// <summary>The RESP port shares the leader's password (Redis requirepass semantics) and connection limit with HaToKuSe.</summary>
public sealed class RespAuthTests
{
    [Fact(Timeout = 180_000)]
    public async Task A_password_guards_every_command_until_AUTH_and_a_full_leader_refuses_more_connections()
    {
        var port = NodeProcess.FreePort();
        await using var leader = await StandaloneLeader.StartAsync(new Dictionary<string, string>
        {
            ["Tolerex__Leader__RespPort"] = $"{port}",
            ["Tolerex__Leader__Password"] = "s3cret",
            ["Tolerex__Leader__AuthFailureDelay"] = "00:00:00",
            ["Tolerex__Leader__MaxConnections"] = "1",
        });

        // The start-up check's connection may hold the only slot for a moment after it closed: the first
        // connection is the one that gets past the limit, and must then be asked to authenticate.
        RespConnection? first = null;
        await Eventually.HoldsAsync(async () =>
        {
            var attempt = await RespConnection.OpenAsync(port);
            if (await attempt.CommandAsync("GET", "1") == "-NOAUTH Authentication required.")
            {
                first = attempt;
                return true;
            }

            await attempt.DisposeAsync();
            return false;
        }, TimeSpan.FromSeconds(30), "GET on the first connection answered -NOAUTH");
        await using (var c = first!)
        {
            Assert.Equal("-NOAUTH Authentication required.", await c.CommandAsync("PING"));
            Assert.StartsWith("-WRONGPASS", await c.CommandAsync("AUTH", "wrong"), StringComparison.Ordinal);
            Assert.StartsWith("-WRONGPASS", await c.CommandAsync("AUTH", "someone", "s3cret"), StringComparison.Ordinal);
            Assert.Equal("OK", await c.CommandAsync("AUTH", "default", "s3cret"));
            Assert.Equal("PONG", await c.CommandAsync("PING"));
            Assert.Equal("(nil)", await c.CommandAsync("GET", "1"));

            // The only connection allowed is open: the next one, on either protocol, is told and closed.
            await using var second = await RespConnection.OpenAsync(port);
            Assert.StartsWith("-ERR max number of clients reached", await second.ReadReplyAsync(), StringComparison.Ordinal);
            Assert.Null(await second.TryReadReplyAsync());
        }

        // HELLO may authenticate as it switches protocol (clients send it first).
        await Eventually.HoldsAsync(async () =>
        {
            await using var c = await RespConnection.OpenAsync(port);
            return (await c.CommandAsync("HELLO", "2", "AUTH", "default", "s3cret", "SETNAME", "tester")).StartsWith("server\ntolerex", StringComparison.Ordinal)
                && await c.CommandAsync("CLIENT", "GETNAME") == "tester";
        }, TimeSpan.FromSeconds(30), "HELLO with AUTH once the first connection is closed");
    }
}
