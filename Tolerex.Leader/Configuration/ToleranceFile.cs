using System.Globalization;
using Tolerex.ServiceDefaults.Configuration;

namespace Tolerex.Leader.Configuration;

/// <summary>
/// The original's <c>tolerance.conf</c>: the whole file, trimmed, must be <c>TOLERANCE=&lt;positive integer&gt;</c>.
/// It is read when <c>Tolerex:Leader:Tolerance</c> is not set: from <c>Tolerex:Leader:ToleranceFile</c>
/// (<c>TOLERANCE_CONF</c>), or from <c>config/tolerance.conf</c> when that exists.
/// </summary>
internal static class ToleranceFile
{
    public const string DefaultPath = "config/tolerance.conf";

    /// <summary>Adds the file's tolerance to <paramref name="configuration"/>, below every other source.</summary>
    public static void AddToleranceFile(this IConfigurationManager configuration)
    {
        if (!string.IsNullOrWhiteSpace(configuration[$"{LeaderOptions.Section}:Tolerance"]))
            return;
        var path = configuration[$"{LeaderOptions.Section}:ToleranceFile"] is { Length: > 0 } named ? named : File.Exists(DefaultPath) ? DefaultPath : null;
        if (path is null)
            return;
        var tolerance = Read(path).ToString(CultureInfo.InvariantCulture);
        configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource
        {
            InitialData = [new($"{LeaderOptions.Section}:Tolerance", tolerance)],
        });
    }

    public static int Parse(string content)
    {
        var text = content.Trim();
        var eq = text.IndexOf('=', StringComparison.Ordinal);
        if (eq < 0 || text[..eq].Trim() != "TOLERANCE")
            throw new ConfigurationException("invalid tolerance.conf format, expected TOLERANCE=<positive integer>");
        var value = text[(eq + 1)..].Trim();
        if (!int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var tolerance))
            throw new ConfigurationException($"tolerance must be a valid integer (got '{value}')");
        if (tolerance <= 0)
            throw new ConfigurationException($"tolerance must be greater than 0 (got {tolerance})");
        return tolerance;
    }

    public static int Read(string path)
    {
        string content;
        try
        {
            content = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"cannot read tolerance file '{path}': {e.Message}");
        }

        try
        {
            return Parse(content);
        }
        catch (ConfigurationException e)
        {
            throw new ConfigurationException($"{path}: {e.Message}");
        }
    }
}
