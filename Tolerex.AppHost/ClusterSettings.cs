using System.Globalization;
using Microsoft.Extensions.Configuration;

/// <summary>
/// The AppHost's parameters (<c>Parameters:leaders|members|tolerance|balancer|io|clientTls|traceSampling</c>, from appsettings.json,
/// <c>Parameters__tolerance=3</c> or <c>--Parameters:tolerance=3</c>) and where node data lives,
/// validated before anything starts.
/// </summary>
internal sealed record ClusterSettings(int Leaders, int Members, int Tolerance, string Balancer, string Io, bool ClientTls, string TraceSampling, string DataRoot, string CertificateRoot)
{
    public static ClusterSettings From(IConfiguration configuration, string appHostDirectory)
    {
        var leaders = int.Parse(OneOf(configuration, "leaders", "1", "1", "3", "5"), CultureInfo.InvariantCulture);
        var members = Number(configuration, "members", 3);
        var tolerance = Number(configuration, "tolerance", 2);
        var balancer = OneOf(configuration, "balancer", "least_loaded", "least_loaded", "p2c");
        var io = OneOf(configuration, "io", "buffered", "buffered", "unbuffered");
        if (tolerance > members)
            throw new InvalidOperationException($"Parameter 'tolerance' ({tolerance}) cannot exceed 'members' ({members}): every SET would be refused.");
        // Outside the source tree's project folders, ignored by git, and kept across AppHost restarts.
        var dataRoot = configuration["Tolerex:DataRoot"] is { Length: > 0 } root
            ? Path.GetFullPath(root)
            : Path.GetFullPath(Path.Combine(appHostDirectory, "..", ".data"));
        var clientTls = OneOf(configuration, "clientTls", "false", "false", "true") == "true";
        // Generated development identities: git-ignored, beside the data, reused across restarts.
        var certificateRoot = configuration["Tolerex:CertificateRoot"] is { Length: > 0 } certs
            ? Path.GetFullPath(certs)
            : Path.GetFullPath(Path.Combine(appHostDirectory, "..", ".certs"));
        return new ClusterSettings(leaders, members, tolerance, balancer, io, clientTls, Ratio(configuration, "traceSampling", "1"), dataRoot, certificateRoot);
    }

    /// <summary>The leader nodes' resource names: <c>leader</c> alone, <c>leader1</c>… in a group.</summary>
    public static IEnumerable<string> LeaderNames(int leaders) =>
        Enumerable.Range(1, leaders).Select(i => leaders == 1 ? "leader" : $"leader{i}");

    private static int Number(IConfiguration configuration, string name, int fallback)
    {
        var raw = configuration[$"Parameters:{name}"];
        if (string.IsNullOrWhiteSpace(raw))
            return fallback;
        if (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < 1)
            throw new InvalidOperationException($"Parameter '{name}' must be a positive integer (got '{raw}').");
        return value;
    }

    /// <summary>A share from 0 to 1, passed on as written (invariant culture).</summary>
    private static string Ratio(IConfiguration configuration, string name, string fallback)
    {
        var raw = configuration[$"Parameters:{name}"];
        if (string.IsNullOrWhiteSpace(raw))
            return fallback;
        return double.TryParse(raw, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) && value is >= 0 and <= 1
            ? raw.Trim()
            : throw new InvalidOperationException($"Parameter '{name}' must be a number from 0 to 1 (got '{raw}').");
    }

    private static string OneOf(IConfiguration configuration, string name, string fallback, params string[] allowed)
    {
        var raw = configuration[$"Parameters:{name}"];
        if (string.IsNullOrWhiteSpace(raw))
            return fallback;
        var value = raw.Trim().ToLowerInvariant();
        return allowed.Contains(value)
            ? value
            : throw new InvalidOperationException($"Parameter '{name}' must be one of {string.Join(", ", allowed)} (got '{raw}').");
    }
}
