using Tolerex.ServiceDefaults.Logging;

namespace Tolerex.Tests.Unit.Logging;

public class LogThrottleTests
{
    [Fact(Timeout = 10_000)]
    public async Task One_line_per_interval_per_key_carries_the_count_held_back()
    {
        var throttle = new LogThrottle(TimeSpan.FromMilliseconds(200));
        Assert.True(throttle.Allow("a", out var held));
        Assert.Equal(0, held);
        for (var i = 0; i < 1000; i++)
            Assert.False(throttle.Allow("a", out _));
        Assert.True(throttle.Allow("b", out _)); // another kind of line is not held back by the first

        await Task.Delay(250, TestContext.Current.CancellationToken);
        Assert.True(throttle.Allow("a", out held));
        Assert.Equal(1000, held);
        Assert.False(throttle.Allow("a", out _));
    }
}
