using System.Globalization;
using System.Text;
using StackExchange.Redis;
using Tolerex.Tests.Integration.Resp;

namespace Tolerex.Tests.Integration.Cluster;

/// <summary>RESP2 on the AppHost's <c>resp</c> endpoint, with the real redis-cli, redis-benchmark and StackExchange.Redis.</summary>
public partial class ClusterProtocolTests
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(120);

    private async Task<string> RedisCliAsync(params string[] command)
    {
        var cli = TestEnvironment.RequireTool("redis-tools", "redis-cli");
        var (exit, stdout, stderr) = await TestEnvironment.RunAsync(cli, ["-h", cluster.Host, "-p", $"{cluster.RespPort}", .. command], ToolTimeout);
        Assert.True(exit == 0, $"redis-cli {string.Join(' ', command)} exited {exit}: {stderr}");
        return stdout.EndsWith('\n') ? stdout[..^1] : stdout; // one line per value; a nil is an empty line
    }

    [Fact(Timeout = 180_000)]
    public async Task Redis_cli_stores_reads_and_deletes_the_same_messages_HaToKuSe_sees()
    {
        Assert.Equal("OK", await RedisCliAsync("SET", "5101", "hello resp"));
        Assert.Equal("hello resp", await RedisCliAsync("GET", "5101"));
        await using (var c = await cluster.ConnectAsync())
        {
            Assert.Equal("hello resp", await c.CommandAsync("GET 5101"));
            Assert.Equal("OK", await c.CommandAsync("SET 5102 from hatokuse"));
        }

        Assert.Equal("from hatokuse", await RedisCliAsync("GET", "5102"));
        Assert.Equal("2", await RedisCliAsync("EXISTS", "5101", "5102", "5199"));
        Assert.Equal("OK", await RedisCliAsync("MSET", "5103", "a", "5104", "b"));
        Assert.Equal("hello resp\na\nb\n", await RedisCliAsync("MGET", "5101", "5103", "5104", "5199"));
        Assert.Equal("1", await RedisCliAsync("DEL", "5101", "5199"));
        Assert.Equal("", await RedisCliAsync("GET", "5101"));
        Assert.Equal("PONG", await RedisCliAsync("PING"));
        Assert.True(long.Parse(await RedisCliAsync("DBSIZE"), CultureInfo.InvariantCulture) >= 3);
        Assert.Contains("redis_version:", await RedisCliAsync("INFO"), StringComparison.Ordinal);
        Assert.Contains("tolerance:2", await RedisCliAsync("INFO"), StringComparison.Ordinal);
        // redis-cli prints an error reply with a blank line after it.
        Assert.Equal("ERR key must be a 64-bit integer id", (await RedisCliAsync("SET", "user:1", "x")).TrimEnd());
        Assert.Equal("ERR unknown command 'FLUSHALL'", (await RedisCliAsync("FLUSHALL")).TrimEnd());
        Assert.Equal("ERR wrong number of arguments for 'get' command", (await RedisCliAsync("GET")).TrimEnd());
        // CONFIG GET answers what describes the server, by glob pattern; nothing is set through CONFIG.
        Assert.Equal("appendonly\nyes", await RedisCliAsync("CONFIG", "GET", "appendonly"));
        Assert.Equal("appendonly\nyes\nsave\n", await RedisCliAsync("CONFIG", "GET", "sav*", "APPENDONLY"));
        Assert.Equal("", await RedisCliAsync("CONFIG", "GET", "maxmemory"));
        Assert.StartsWith("ERR CONFIG can only GET here", await RedisCliAsync("CONFIG", "SET", "appendonly", "no"), StringComparison.Ordinal);
    }

    [Fact(Timeout = 300_000)]
    public async Task Redis_benchmark_sets_and_gets_without_errors()
    {
        var benchmark = TestEnvironment.RequireTool("redis-tools", "redis-benchmark");
        var before = long.Parse(await RedisCliAsync("DBSIZE"), CultureInfo.InvariantCulture);
        foreach (var command in (string[][])[["SET", "__rand_int__", "benchmark-value"], ["GET", "__rand_int__"]])
        {
            // Keys are __rand_int__: twelve digits, an id; -r 900000 keeps them off the ids other tests use.
            var (exit, stdout, stderr) = await TestEnvironment.RunAsync(benchmark,
                ["-h", cluster.Host, "-p", $"{cluster.RespPort}", "-n", "3000", "-c", "8", "-r", "900000", "--csv", .. command], ToolTimeout);
            Assert.True(exit == 0, $"redis-benchmark {command[0]} exited {exit}: {stdout}{stderr}");
            Assert.DoesNotContain("ERR", stdout + stderr, StringComparison.Ordinal);
            // It asks CONFIG GET save and appendonly first, and warns when it cannot.
            Assert.DoesNotContain("Could not fetch server CONFIG", stdout + stderr, StringComparison.Ordinal);
            // CSV: "test","rps",…; a rate means every request was answered.
            var row = stdout.Split('\n').Single(l => l.StartsWith($"\"{command[0]} ", StringComparison.Ordinal));
            Assert.True(double.Parse(row.Split(',')[1].Trim('"'), CultureInfo.InvariantCulture) > 0, row);
        }

        Assert.True(long.Parse(await RedisCliAsync("DBSIZE"), CultureInfo.InvariantCulture) > before, "the benchmark's SETs were stored");
    }

    [Fact(Timeout = 180_000)]
    public async Task StackExchange_Redis_connects_and_uses_strings_keys_and_batches()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync($"{cluster.Host}:{cluster.RespPort},connectTimeout=20000,syncTimeout=20000");
        var db = redis.GetDatabase();
        Assert.True(await db.StringSetAsync("5201", "library value"));
        Assert.Equal("library value", await db.StringGetAsync("5201"));
        Assert.True(await db.KeyExistsAsync("5201"));
        Assert.True(await db.StringSetAsync([new("5202", "x"), new("5203", "y")]));
        Assert.Equal(["library value", "x", "y", RedisValue.Null], await db.StringGetAsync(["5201", "5202", "5203", "5299"]));
        Assert.True(await db.KeyDeleteAsync("5201"));
        Assert.False(await db.KeyExistsAsync("5201"));
        var refused = await Assert.ThrowsAsync<RedisServerException>(() => db.StringSetAsync("not-an-id", "x"));
        Assert.Contains("key must be a 64-bit integer id", refused.Message, StringComparison.Ordinal);
        Assert.Equal("library value", Encoding.UTF8.GetString((byte[])(await db.ExecuteAsync("ECHO", "library value"))!));
    }

    [Fact(Timeout = 180_000)]
    public async Task Resp_pipelined_binary_and_inline_requests_get_their_replies_in_order()
    {
        await using var c = await RespConnection.OpenAsync(cluster.RespPort);
        byte[] binary = [0, 13, 10, 255, 42, 13, 10];
        // Three requests in one write, a binary value with CR, LF and NUL among them, then an inline one.
        await c.SendAsync([.. RespConnection.Request("SET"u8.ToArray(), "5301"u8.ToArray(), binary),
            .. RespConnection.Request("GET"u8.ToArray(), "5301"u8.ToArray()),
            .. RespConnection.Request("EXISTS"u8.ToArray(), "5301"u8.ToArray()),
            .. "PING\r\n"u8.ToArray()]);
        Assert.Equal("OK", await c.ReadReplyAsync());
        Assert.Equal(binary, await c.ReadBulkAsync());
        Assert.Equal("1", await c.ReadReplyAsync());
        Assert.Equal("PONG", await c.ReadReplyAsync());
        Assert.Equal("OK", await c.CommandAsync("SELECT", "0"));
        Assert.Equal("-ERR DB index is out of range", await c.CommandAsync("SELECT", "1"));
        Assert.Equal("-NOPROTO unsupported protocol version", await c.CommandAsync("HELLO", "3"));
        Assert.StartsWith("server\ntolerex\nversion\n", await c.CommandAsync("HELLO", "2"), StringComparison.Ordinal);

        // A broken frame is answered with a protocol error and the connection closes, as Redis does.
        await c.SendAsync("*2\r\n$3\r\nGET\r\n?4\r\n");
        Assert.StartsWith("-ERR Protocol error", await c.ReadReplyAsync(), StringComparison.Ordinal);
        Assert.Null(await c.TryReadReplyAsync());
    }
}
