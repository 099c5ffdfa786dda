namespace Tolerex.ServiceDefaults.Configuration;

/// <summary>
/// A node's settings under the names the original Go program used: environment variables
/// (<c>TOLERANCE</c> → <c>Tolerex:Leader:Tolerance</c>) and command-line switches (<c>-port=5556</c>,
/// <c>--data-dir</c>). They are mapped onto <c>Tolerex:*</c> keys when configuration is built (see
/// <see cref="NodeConfiguration.AddNodeConfiguration"/>), so nothing else sees them.
/// </summary>
public sealed class SettingAliases
{
    private SettingAliases(Dictionary<string, string> environment, Dictionary<string, string> switches)
    {
        Environment = environment;
        Switches = switches;
    }

    /// <summary>Original environment variable → configuration key.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; }

    /// <summary>Command-line switch (with its dashes) → configuration key.</summary>
    public IReadOnlyDictionary<string, string> Switches { get; }

    /// <summary>
    /// Aliases of keys in <paramref name="section"/>. Each switch is accepted in the original's single-dash form
    /// (<c>-port=5556</c>) and the usual double-dash form (<c>--port 5556</c>).
    /// </summary>
    public static SettingAliases For(string section, IEnumerable<(string Variable, string Key)> environment, IEnumerable<(string Switch, string Key)> switches) =>
        new(environment.ToDictionary(e => e.Variable, e => $"{section}:{e.Key}", StringComparer.Ordinal),
            switches.SelectMany(s => new[] { ($"-{s.Switch}", $"{section}:{s.Key}"), ($"--{s.Switch}", $"{section}:{s.Key}") })
                .ToDictionary(s => s.Item1, s => s.Item2, StringComparer.Ordinal));

    /// <summary>The original environment name of <paramref name="key"/>, if it has one.</summary>
    public string? EnvironmentNameOf(string key) =>
        Environment.FirstOrDefault(a => string.Equals(a.Value, key, StringComparison.OrdinalIgnoreCase) && !a.Key.Contains("__", StringComparison.Ordinal)).Key;
}
