using Microsoft.Extensions.Options;
using Tolerex.ServiceDefaults.Configuration;
using Tolerex.Storage;

namespace Tolerex.Leader.Configuration;

/// <summary>How the leader's configuration is built and bound, the same way in the program and in tests.</summary>
internal static class LeaderConfiguration
{
    /// <summary>The original's names for leader settings (see <see cref="SettingAliases"/>).</summary>
    public static SettingAliases Aliases { get; } = SettingAliases.For(LeaderOptions.Section,
        [
            ("TOLERANCE", "Tolerance"),
            ("TOLERANCE_CONF", "ToleranceFile"),
            ("BALANCER_STRATEGY", "Balancer"),
            ("LEADER_GRPC_PORT", "GrpcPort"),
            ("LEADER_TCP_PORT", "TcpPort"),
            ("LEADER_RESP_PORT", "RespPort"),
            ("LEADER_METRICS_PORT", "MetricsPort"),
            ("LEADER_PEERS", "Peers"),
            ("TOLEREX_PASSWORD", "Password"),
        ],
        [("data-dir", "DataDir"), ("durability", "Durability")]);

    /// <summary>
    /// Adds the original names, the command line and the tolerance file to <paramref name="configuration"/>
    /// (on top of appsettings.json and the environment). Throws <see cref="ConfigurationException"/> for a bad
    /// tolerance file.
    /// </summary>
    public static void AddLeaderConfiguration(this IConfigurationManager configuration, string[] args, Func<string, string?>? environment = null)
    {
        ChoiceConverter.Register(("least_loaded", BalancerStrategy.LeastLoaded), ("leastloaded", BalancerStrategy.LeastLoaded),
            ("least-loaded", BalancerStrategy.LeastLoaded), ("p2c", BalancerStrategy.PowerOfTwoChoices), ("poweroftwochoices", BalancerStrategy.PowerOfTwoChoices));
        ChoiceConverter.Register(("fsync", Durability.Fsync), ("os", Durability.Os));
        configuration.AddNodeConfiguration(args, Aliases, environment);
        configuration.AddToleranceFile();
    }

    /// <summary>Binds <see cref="LeaderOptions"/>, validated at start-up.</summary>
    public static IServiceCollection AddLeaderOptions(this IServiceCollection services)
    {
        services.AddValidatedOptions<LeaderOptions, LeaderOptionsValidator>(LeaderOptions.Section);
        services.AddSingleton<IValidateOptions<LeaderOptions>, LeaderOptionsRelations>();
        // An empty password is no password (as an empty TOLEREX_PASSWORD is), not one no AUTH could match.
        services.PostConfigure<LeaderOptions>(o => o.Password = string.IsNullOrEmpty(o.Password) ? null : o.Password);
        return services;
    }
}
