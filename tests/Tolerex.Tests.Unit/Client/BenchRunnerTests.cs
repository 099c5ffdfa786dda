using System.Diagnostics;
using Tolerex.Client.Session;

namespace Tolerex.Tests.Unit.Client;

public class BenchRunnerTests
{
    [Fact]
    public void Percentiles_use_the_nearest_rank()
    {
        var ticksPerUs = Stopwatch.Frequency / 1_000_000.0;
        var sorted = Enumerable.Range(1, 1000).Select(us => (long)(us * ticksPerUs)).ToArray();
        Assert.Equal(500, LatencySamples.Percentile(sorted, 50), 0.5);
        Assert.Equal(990, LatencySamples.Percentile(sorted, 99), 0.5);
        Assert.Equal(999, LatencySamples.Percentile(sorted, 99.9), 0.5);
        Assert.Equal(1000, LatencySamples.Percentile(sorted, 100), 0.5);
        Assert.Equal(0, LatencySamples.Percentile([], 50));
    }

    [Theory]
    [InlineData("localhost:6666", "localhost", 6666)]
    [InlineData(" 127.0.0.1:1 , other:2", "127.0.0.1", 1)]
    [InlineData("[::1]:7000", "::1", 7000)]
    public void Address_lists_parse(string text, string host, int port)
    {
        var first = Tolerex.Client.Endpoints.Parse(text)[0];
        Assert.Equal((host, port), first);
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("localhost:0")]
    [InlineData("")]
    public void Bad_addresses_are_refused(string text) => Assert.Throws<FormatException>(() => Tolerex.Client.Endpoints.Parse(text));
}
