using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Tolerex.ServiceDefaults.Configuration;

/// <summary>How a node's configuration is built and checked, the same way for the leader and members.</summary>
public static partial class NodeConfiguration
{
    /// <summary>The section each validated options type is bound from, for naming keys in errors.</summary>
    private static readonly ConcurrentDictionary<Type, string> Sections = new();

    /// <summary>
    /// Adds the original names (<paramref name="aliases"/>) and the command line to <paramref name="configuration"/>.
    /// Precedence, lowest first: the original environment names, appsettings.json, <c>Tolerex__*</c> environment
    /// variables, the command line (original switches included). So a <c>Tolerex:*</c> key set anywhere wins
    /// over its original name.
    /// </summary>
    /// <param name="environment">The environment variables to read; the process's own when null.</param>
    public static IConfigurationBuilder AddNodeConfiguration(this IConfigurationBuilder configuration, string[] args, SettingAliases aliases,
        Func<string, string?>? environment = null)
    {
        DurationConverter.Register();
        CheckArguments(args, aliases);
        configuration.Sources.Insert(0, new AliasedEnvironmentSource(aliases, environment ?? Environment.GetEnvironmentVariable));
        return configuration.AddCommandLine(args, aliases.Switches.ToDictionary(StringComparer.Ordinal));
    }

    /// <summary>
    /// Refuses a command line the configuration would silently ignore: a switch that is neither one of the
    /// node's (<paramref name="aliases"/>) nor a configuration key (<c>--Tolerex:Leader:TcpPort=7000</c>), or a
    /// stray value. A mistyped option stops the node instead of being dropped.
    /// </summary>
    private static void CheckArguments(string[] args, SettingAliases aliases)
    {
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            var name = arg.Split('=', 2)[0];
            if (!arg.StartsWith('-') || !(aliases.Switches.ContainsKey(name) || (name.StartsWith("--", StringComparison.Ordinal) && name.Contains(':', StringComparison.Ordinal))))
                throw new ConfigurationException(arg.StartsWith('-') ? $"unknown option '{name}'" : $"unexpected argument '{arg}'");
            if (!arg.Contains('=', StringComparison.Ordinal))
                i++; // its value follows
        }
    }

    /// <summary>Binds <typeparamref name="T"/> from <paramref name="section"/>, validated by <typeparamref name="TValidator"/> at start-up.</summary>
    public static OptionsBuilder<T> AddValidatedOptions<T, TValidator>(this IServiceCollection services, string section)
        where T : class
        where TValidator : class, IValidateOptions<T>
    {
        Sections[typeof(T)] = section;
        services.AddSingleton<IValidateOptions<T>, TValidator>();
        return services.AddOptions<T>().BindConfiguration(section).ValidateOnStart();
    }

    /// <summary>
    /// One line describing a configuration error, naming the key (and the original name it came from), or null
    /// when <paramref name="error"/> is not about configuration.
    /// </summary>
    public static string? Describe(Exception error, IConfiguration configuration, SettingAliases aliases)
    {
        switch (error)
        {
            case ConfigurationException e:
                return e.Message;
            case OptionsValidationException e:
                var section = Sections.TryGetValue(e.OptionsType, out var s) ? s : e.OptionsType.Name;
                return string.Join("; ", e.Failures.Select(f => Failure(f, section, configuration, aliases)));
            case InvalidOperationException e when ConversionFailure().Match(e.Message) is { Success: true } m:
                var key = m.Groups["key"].Value;
                // The converters of durations and choices say what they accept; the others get a plain word.
                var reason = e.InnerException?.Message is { } inner && inner.StartsWith("must be", StringComparison.Ordinal)
                    ? inner
                    : $"must be {Friendly(m.Groups["type"].Value)}";
                return $"{Named(key, aliases)} {reason} (got '{configuration[key]}')";
            default:
                return error.InnerException is { } innerError ? Describe(innerError, configuration, aliases) : null;
        }
    }

    /// <summary>A validator failure ("Member: message") as "Section:Member (ALIAS) message (got 'value')".</summary>
    private static string Failure(string failure, string section, IConfiguration configuration, SettingAliases aliases)
    {
        var colon = failure.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || failure[..colon].Contains(' ', StringComparison.Ordinal))
            return $"{section}: {failure}";
        var key = $"{section}:{failure[..colon]}";
        var value = configuration[key];
        // The generated validators phrase range failures "The field Type.Member must be between …".
        var message = RangeFailure().Replace(failure[(colon + 1)..].Trim(), "").TrimEnd('.');
        return $"{Named(key, aliases)} {message}" + (value is null ? "" : $" (got '{value}')");
    }

    private static string Named(string key, SettingAliases aliases) =>
        aliases.EnvironmentNameOf(key) is { } original ? $"{key} ({original})" : key;

    private static string Friendly(string type) => type switch
    {
        "System.Int32" or "System.Int64" => "a whole number",
        "System.Boolean" => "true or false",
        "System.Double" => "a number",
        _ => "a " + type[(type.LastIndexOf('.') + 1)..],
    };

    [GeneratedRegex(@"^The field \S+ ")]
    private static partial Regex RangeFailure();

    [GeneratedRegex(@"^Failed to convert configuration value .*at '(?<key>[^']+)' to type '(?<type>[^']+)'")]
    private static partial Regex ConversionFailure();

    /// <summary>Reads the original environment names of one node kind as <c>Tolerex:*</c> keys.</summary>
    private sealed class AliasedEnvironmentSource(SettingAliases aliases, Func<string, string?> environment) : IConfigurationSource
    {
        public IConfigurationProvider Build(IConfigurationBuilder builder) => new Provider(aliases, environment);

        private sealed class Provider(SettingAliases aliases, Func<string, string?> environment) : ConfigurationProvider
        {
            public override void Load()
            {
                foreach (var (name, key) in aliases.Environment)
                {
                    if (environment(name) is { Length: > 0 } value && !Data.ContainsKey(key))
                        Data[key] = value;
                }
            }
        }
    }
}
