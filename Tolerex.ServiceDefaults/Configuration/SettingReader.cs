using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Tolerex.ServiceDefaults.Configuration;

/// <summary>Reads one setting from <c>{section}:{key}</c>, falling back to an original-style name.</summary>
public sealed class SettingReader(IConfiguration configuration, string section)
{
    public string? Raw(string key, string? legacyName)
    {
        var value = configuration[$"{section}:{key}"];
        if (string.IsNullOrWhiteSpace(value) && legacyName is not null)
            value = configuration[legacyName];
        return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }

    public int Port(string key, string? legacyName, int fallback)
    {
        var raw = Raw(key, legacyName);
        if (raw is null)
            return fallback;
        if (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 0 or > 65535)
            throw new ConfigurationException($"{Name(key, legacyName)} must be a port number 0-65535 (got '{raw}')");
        return port;
    }

    public long Number(string key, long fallback, long min, long max)
    {
        var raw = Raw(key, null);
        if (raw is null)
            return fallback;
        if (!long.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
            throw new ConfigurationException($"{section}:{key} must be a number between {min} and {max} (got '{raw}')");
        return value;
    }

    public bool Flag(string key, bool fallback)
    {
        var raw = Raw(key, null);
        if (raw is null)
            return fallback;
        return bool.TryParse(raw, out var value) ? value : throw new ConfigurationException($"{section}:{key} must be true or false (got '{raw}')");
    }

    /// <summary>A TimeSpan ("00:00:02") or a number with a unit suffix ("2s", "500ms").</summary>
    public TimeSpan Duration(string key, TimeSpan fallback)
    {
        var raw = Raw(key, null);
        if (raw is null)
            return fallback;
        if (TryParseDuration(raw, out var value) && value > TimeSpan.Zero)
            return value;
        throw new ConfigurationException($"{section}:{key} must be a positive duration such as 500ms, 2s or 00:00:02 (got '{raw}')");
    }

    public static bool TryParseDuration(string raw, out TimeSpan value)
    {
        (string suffix, double scale)[] units = [("ms", 1), ("s", 1000), ("m", 60_000)];
        foreach (var (suffix, scale) in units)
        {
            if (raw.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
                && double.TryParse(raw[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var n))
            {
                value = TimeSpan.FromMilliseconds(n * scale);
                return true;
            }
        }

        return TimeSpan.TryParse(raw, CultureInfo.InvariantCulture, out value);
    }

    private string Name(string key, string? legacyName) =>
        legacyName is null ? $"{section}:{key}" : $"{section}:{key} ({legacyName})";
}
