using Grpc.Core;
using Tolerex.Leader.Configuration;
using Tolerex.Leader.Index;
using Tolerex.Leader.Replication;
using Tolerex.Protocol.V1;

namespace Tolerex.Leader.Membership;

/// <summary>The leader's gRPC surface for members: registration and heartbeats.</summary>
internal sealed class MembershipService(MemberRegistry registry, IndexLog indexLog, VersionClock clock, LeaderOptions options) : Protocol.V1.Membership.MembershipBase
{
    public override async Task<RegisterReply> Register(RegisterRequest request, ServerCallContext context)
    {
        if (string.IsNullOrWhiteSpace(request.Address))
            throw new RpcException(new Status(StatusCode.InvalidArgument, "address is required"));
        Member member;
        bool added;
        try
        {
            member = registry.GetOrAdd(request.Address, indexLog.AddMemberAsync, out added);
        }
        catch (FormatException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }

        // Placement may name the member only once the index can: wait until its record is durable. If an
        // earlier attempt to record it failed (a disk error), this registration tries again.
        if (member.Recorded.IsFaulted)
            member.Recorded = indexLog.AddMemberAsync(member);
        await member.Recorded;
        registry.Registered(member, request.Name, request.Load, added);

        // Versions must stay above anything a member already holds, even after a leader restart.
        if (request.Load is not null)
            clock.Observe(request.Load.MaxVersion);
        return new RegisterReply { HeartbeatIntervalMs = (long)options.HeartbeatInterval.TotalMilliseconds };
    }

    public override Task<HeartbeatReply> Heartbeat(HeartbeatRequest request, ServerCallContext context) =>
        Task.FromResult(new HeartbeatReply { Known = registry.Heartbeat(request.Address, request.Load) });
}
