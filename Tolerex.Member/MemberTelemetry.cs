using System.Diagnostics;

namespace Tolerex.Member;

/// <summary>The member's activity source: spans inside a leader call, such as the group commit of a batch.</summary>
internal static class MemberTelemetry
{
    public static readonly ActivitySource Source = new("Tolerex.Member");
}
