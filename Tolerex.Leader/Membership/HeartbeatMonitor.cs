using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;

namespace Tolerex.Leader.Membership;

/// <summary>Marks members down when their heartbeats stop for longer than <see cref="LeaderOptions.MemberTimeout"/>.</summary>
internal sealed class HeartbeatMonitor(MemberRegistry registry, IOptions<LeaderOptions> leaderOptions) : BackgroundService
{
    private readonly LeaderOptions _options = leaderOptions.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Check often relative to the timeout so detection takes at most timeout + one tick.
        var tick = TimeSpan.FromTicks(Math.Clamp(_options.MemberTimeout.Ticks / 10, TimeSpan.FromMilliseconds(50).Ticks, TimeSpan.FromMilliseconds(500).Ticks));
        using var timer = new PeriodicTimer(tick);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                foreach (var member in registry.Alive)
                {
                    if (member.SinceHeartbeat > _options.MemberTimeout)
                        registry.MarkDown(member, $"no heartbeat for {member.SinceHeartbeat.TotalSeconds:0.0}s");
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
