using Grpc.Core;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Consensus;
using Tolerex.Leader.Index;
using Tolerex.Leader.Replication;
using Tolerex.Protocol.V1;
using Tolerex.ServiceDefaults.Identity;

namespace Tolerex.Leader.Membership;

/// <summary>
/// The leader's gRPC surface for members: registration and heartbeats. Only member certificates get here
/// (<see cref="RequireRoleInterceptor"/>); each address is bound to the member identity that first
/// registered it, durably, so one member cannot register or heartbeat as another.
/// </summary>
internal sealed class RegistrationService(MemberRegistry registry, MessageIndex index, VersionClock clock, Leadership leadership, IOptions<LeaderOptions> options)
    : Registration.RegistrationBase
{
    /// <summary>Members register with and heartbeat to the group's leader only; another node sends them on (a member tries its next leader address).</summary>
    private void RequireLeading()
    {
        if (leadership.Leading)
            return;
        var trailers = new Metadata();
        if (leadership.LeaderGrpc is { } leader)
            trailers.Add(RegistrationMetadata.LeaderHint, leader);
        throw new RpcException(new Status(StatusCode.FailedPrecondition, $"{options.Value.Name} does not lead the leader group (leader: {leadership.LeaderName})"), trailers);
    }

    public override async Task<RegisterReply> Register(RegisterRequest request, ServerCallContext context)
    {
        RequireLeading();
        if (string.IsNullOrWhiteSpace(request.Address))
            throw new RpcException(new Status(StatusCode.InvalidArgument, "address is required"));
        var caller = Caller(context);
        MemberNode member;
        bool added;
        try
        {
            member = registry.GetOrAdd(request.Address, caller, index.RecordMemberAsync, out added);
        }
        catch (FormatException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }

        var unbound = member.Identity.Length == 0;
        if (!member.TryBind(caller))
            throw PeerAuthorization.Denied($"{member.Address} is registered to member '{member.Identity}', not '{caller}'");
        if (unbound)
        {
            // Record the binding durably (and reconnect: the channel checks the server's identity).
            member.Recorded = index.RecordMemberAsync(member);
            registry.Rebind(member);
        }

        // Placement may name the member only once the index can: wait until its record is durable. If an
        // earlier attempt to record it failed (a disk error), this registration tries again.
        if (member.Recorded.IsFaulted)
            member.Recorded = index.RecordMemberAsync(member);
        await member.Recorded;
        registry.Registered(member, request.Name, request.Load, added);

        // Versions must stay above anything a member already holds, even after a leader restart.
        if (request.Load is not null)
            clock.Observe(request.Load.MaxVersion);
        return new RegisterReply { HeartbeatIntervalMs = (long)options.Value.HeartbeatInterval.TotalMilliseconds };
    }

    public override Task<HeartbeatReply> Heartbeat(HeartbeatRequest request, ServerCallContext context)
    {
        RequireLeading();
        return Task.FromResult(new HeartbeatReply { Known = registry.Heartbeat(request.Address, Caller(context), request.Load) });
    }

    private static string Caller(ServerCallContext context) =>
        context.Caller() is { Role: NodeRole.Member } peer ? peer.Name : throw PeerAuthorization.Denied("only member identities may register or heartbeat");
}
