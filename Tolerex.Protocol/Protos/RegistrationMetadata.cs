namespace Tolerex.Protocol.V1;

/// <summary>gRPC metadata of the Registration service beyond its messages.</summary>
public static class RegistrationMetadata
{
    /// <summary>
    /// Trailer of a <c>FailedPrecondition</c> from a leader node that does not lead the group: the gRPC
    /// <c>host:port</c> of the node that does, when it knows one, so a member goes there without trying the rest.
    /// </summary>
    public const string LeaderHint = "tolerex-leader";
}
