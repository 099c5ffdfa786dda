using Tolerex.ServiceDefaults.Configuration;

namespace Tolerex.Leader.Configuration;

/// <summary>
/// The original's <c>tolerance.conf</c>: the whole file, trimmed, must be <c>TOLERANCE=&lt;positive integer&gt;</c>.
/// </summary>
internal static class ToleranceFile
{
    public static int Parse(string content)
    {
        var text = content.Trim();
        var eq = text.IndexOf('=');
        if (eq < 0 || text[..eq].Trim() != "TOLERANCE")
            throw new ConfigurationException("invalid tolerance.conf format, expected TOLERANCE=<positive integer>");
        return ParseValue(text[(eq + 1)..].Trim());
    }

    public static int ParseValue(string value)
    {
        if (!int.TryParse(value.Trim(), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var tolerance))
            throw new ConfigurationException($"tolerance must be a valid integer (got '{value.Trim()}')");
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
