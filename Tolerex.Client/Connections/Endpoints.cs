namespace Tolerex.Client;

/// <summary>Parses <c>--addr</c> lists ("host:port,host:port").</summary>
internal static class Endpoints
{
    public static IReadOnlyList<(string Host, int Port)> Parse(string addresses)
    {
        var result = new List<(string, int)>();
        foreach (var part in addresses.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = part.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(part[(colon + 1)..], out var port) || port is <= 0 or > 65535)
                throw new FormatException($"'{part}' is not host:port");
            result.Add((part[..colon].Trim('[', ']'), port));
        }

        return result.Count > 0 ? result : throw new FormatException("no address given");
    }
}
