using System.Diagnostics;

namespace Tolerex.Leader.Telemetry;

/// <summary>The leader's activity source: one span per HaToKuSe command, parent of its replica calls.</summary>
internal static class LeaderTelemetry
{
    public static readonly ActivitySource Source = new("Tolerex.Leader");
}
