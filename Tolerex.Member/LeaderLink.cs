using Grpc.Core;
using Microsoft.Extensions.Options;
using Tolerex.Member.Configuration;
using Tolerex.Member.Store;
using Tolerex.Protocol.V1;
using Tolerex.ServiceDefaults.Identity;

namespace Tolerex.Member;

/// <summary>
/// Registers with the leader and then heartbeats on one long-lived channel. Never gives up: a leader that
/// is late, down or restarted is retried with capped, jittered backoff, and a leader that no longer knows
/// this member (heartbeat answered "unknown") gets a fresh registration.
/// </summary>
internal sealed partial class LeaderLink(IOptions<MemberOptions> memberOptions, MessageStore store, NodeTls tls, ILogger<LeaderLink> logger) : BackgroundService
{
    private readonly MemberOptions _options = memberOptions.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var channel = NodeChannels.Create(_options.Leader, tls, peer => peer.Role == NodeRole.Leader, _options.CallTimeout, 64 * 1024,
            reason => LogLeaderRefused(logger, _options.Leader, reason));
        var client = new Registration.RegistrationClient(channel);
        var registered = false;
        var interval = TimeSpan.FromSeconds(1);
        var failures = 0;

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var load = CopyService.LoadOf(store.Stats);
                if (!registered)
                {
                    LogRegistering(logger, _options.Leader, _options.AdvertiseAddress);
                    var reply = await client.RegisterAsync(
                        new RegisterRequest { Address = _options.AdvertiseAddress, Name = _options.Name, Load = load },
                        deadline: DateTime.UtcNow + _options.CallTimeout, cancellationToken: stoppingToken);
                    interval = TimeSpan.FromMilliseconds(Math.Max(50, reply.HeartbeatIntervalMs));
                    registered = true;
                    LogRegistered(logger, _options.Leader, _options.AdvertiseAddress, interval.TotalMilliseconds);
                }
                else
                {
                    var reply = await client.HeartbeatAsync(
                        new HeartbeatRequest { Address = _options.AdvertiseAddress, Load = load },
                        deadline: DateTime.UtcNow + _options.CallTimeout, cancellationToken: stoppingToken);
                    if (!reply.Known)
                    {
                        LogUnknownToLeader(logger, _options.Leader);
                        registered = false;
                        continue;
                    }
                }

                if (failures > 0)
                    LogLeaderReachable(logger, _options.Leader, failures);
                failures = 0;
                await Task.Delay(interval, stoppingToken);
            }
            catch (RpcException e) when (!stoppingToken.IsCancellationRequested)
            {
                failures++;
                if (failures == 1 || failures % 30 == 0)
                    LogLeaderUnreachable(logger, _options.Leader, e.StatusCode, e.Status.Detail, failures);
                await Task.Delay(RetryDelay(failures), stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
        }
    }

    private TimeSpan RetryDelay(int failures)
    {
        // 100 ms, 200 ms, 400 ms … capped, with ±25 % jitter so members restarted together do not retry in step.
        var baseMs = Math.Min(_options.MaxRetryDelay.TotalMilliseconds, 100 * Math.Pow(2, Math.Min(failures - 1, 10)));
        return TimeSpan.FromMilliseconds(baseMs * (0.75 + Random.Shared.NextDouble() * 0.5));
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Registering to leader at {Leader} as {Address}")]
    private static partial void LogRegistering(ILogger logger, string leader, string address);

    [LoggerMessage(Level = LogLevel.Information, Message = "Registered to leader at {Leader} as {Address}; heartbeat every {IntervalMs} ms")]
    private static partial void LogRegistered(ILogger logger, string leader, string address, double intervalMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Leader {Leader} does not know this member; registering again")]
    private static partial void LogUnknownToLeader(ILogger logger, string leader);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Leader {Leader} unreachable ({Status}: {Detail}); attempt {Failures}, retrying")]
    private static partial void LogLeaderUnreachable(ILogger logger, string leader, StatusCode status, string detail, int failures);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused the server at {Leader} as leader: {Reason}")]
    private static partial void LogLeaderRefused(ILogger logger, string leader, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Leader {Leader} reachable again after {Failures} failed attempts")]
    private static partial void LogLeaderReachable(ILogger logger, string leader, int failures);
}
