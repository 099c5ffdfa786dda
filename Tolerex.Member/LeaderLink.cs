using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using Tolerex.Member.Configuration;
using Tolerex.Member.Store;
using Tolerex.Protocol.V1;
using Tolerex.ServiceDefaults.Identity;

namespace Tolerex.Member;

/// <summary>
/// Registers with the leader and then heartbeats on one long-lived channel. Never gives up: a leader that
/// is late, down or restarted is retried with capped, jittered backoff, and a leader that no longer knows
/// this member (heartbeat answered "unknown") gets a fresh registration. Given the nodes of a leader group,
/// it follows whichever accepts it: a node that fails a call is left for the next one at once, and the
/// backoff applies only once every node has failed in a row.
/// </summary>
internal sealed partial class LeaderLink(IOptions<MemberOptions> memberOptions, MessageStore store, NodeTls tls, ILogger<LeaderLink> logger) : BackgroundService
{
    private readonly MemberOptions _options = memberOptions.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var addresses = _options.LeaderAddresses;
        var channels = new GrpcChannel?[addresses.Length];
        try
        {
            await FollowAsync(addresses, channels, stoppingToken);
        }
        finally
        {
            foreach (var channel in channels)
                channel?.Dispose();
        }
    }

    private async Task FollowAsync(string[] addresses, GrpcChannel?[] channels, CancellationToken stoppingToken)
    {
        var current = 0;
        var registered = false;
        var interval = TimeSpan.FromSeconds(1);
        var failures = 0;
        var hints = 0;

        while (!stoppingToken.IsCancellationRequested)
        {
            var leader = addresses[current];
            var channel = channels[current] ??= NodeChannels.Create(leader, tls, peer => peer.Role == NodeRole.Leader, _options.CallTimeout, 64 * 1024,
                reason => LogLeaderRefused(logger, leader, reason));
            var client = new Registration.RegistrationClient(channel);
            try
            {
                var load = CopyService.LoadOf(store.Stats);
                if (!registered)
                {
                    LogRegistering(logger, leader, _options.AdvertiseAddress);
                    var reply = await client.RegisterAsync(
                        new RegisterRequest { Address = _options.AdvertiseAddress, Name = _options.Name, Load = load },
                        deadline: DateTime.UtcNow + _options.CallTimeout, cancellationToken: stoppingToken);
                    interval = TimeSpan.FromMilliseconds(Math.Max(50, reply.HeartbeatIntervalMs));
                    registered = true;
                    LogRegistered(logger, leader, _options.AdvertiseAddress, interval.TotalMilliseconds);
                }
                else
                {
                    var reply = await client.HeartbeatAsync(
                        new HeartbeatRequest { Address = _options.AdvertiseAddress, Load = load },
                        deadline: DateTime.UtcNow + _options.CallTimeout, cancellationToken: stoppingToken);
                    if (!reply.Known)
                    {
                        LogUnknownToLeader(logger, leader);
                        registered = false;
                        continue;
                    }
                }

                if (failures > 0)
                    LogLeaderReachable(logger, leader, failures);
                failures = 0;
                hints = 0;
                await Task.Delay(interval, stoppingToken);
            }
            catch (RpcException e) when (!stoppingToken.IsCancellationRequested)
            {
                failures++;
                if (failures == 1 || failures % 30 == 0)
                    LogLeaderUnreachable(logger, leader, e.StatusCode, e.Status.Detail, failures);
                if (addresses.Length > 1)
                {
                    registered = false;
                    // A node that does not lead names the one that does, when it knows: go there at once (at most
                    // once per node in a row, so two nodes that disagree for a moment do not bounce it to and fro).
                    if (e.StatusCode == StatusCode.FailedPrecondition && hints < addresses.Length
                        && IndexOf(addresses, e.Trailers.GetValue(RegistrationMetadata.LeaderHint)) is var hinted and >= 0 && hinted != current)
                    {
                        hints++;
                        current = hinted;
                        continue;
                    }

                    // Another node may lead now: it gets a registration of its own, without waiting.
                    current = (current + 1) % addresses.Length;
                    if (failures % addresses.Length != 0)
                        continue;
                    // Every node refused: an election is under way (nodes up, none leading yet). Ask again soon.
                    if (e.StatusCode == StatusCode.FailedPrecondition)
                    {
                        hints = 0;
                        await Task.Delay(ElectionRetryDelay, stoppingToken);
                        continue;
                    }
                }

                await Task.Delay(RetryDelay((failures + addresses.Length - 1) / addresses.Length), stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
        }
    }

    /// <summary>Between rounds of a leader group whose nodes are up but none leads yet: about one election's time.</summary>
    private static readonly TimeSpan ElectionRetryDelay = TimeSpan.FromMilliseconds(100);

    private static int IndexOf(string[] addresses, string? address)
    {
        if (string.IsNullOrEmpty(address))
            return -1;
        var wanted = NodeChannels.Canonical(address);
        return Array.FindIndex(addresses, a => NodeChannels.Canonical(a) == wanted);
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
