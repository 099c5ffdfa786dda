using Microsoft.Extensions.Options;
using Tolerex.Member.Store;
using Tolerex.ServiceDefaults.Configuration;
using Tolerex.Storage;

namespace Tolerex.Member.Configuration;

/// <summary>How a member's configuration is built and bound, the same way in the program and in tests.</summary>
internal static class MemberConfiguration
{
    /// <summary>The original's names for member settings (see <see cref="SettingAliases"/>).</summary>
    public static SettingAliases Aliases { get; } = SettingAliases.For(MemberOptions.Section,
        [
            ("MEMBER_GRPC_PORT", "Port"),
            ("MEMBER_METRICS_PORT", "MetricsPort"),
            ("MEMBER_IO_MODE", "Io"),
            ("LEADER_ADDR", "Leader"),
            ("MEMBER_ADDR", "AdvertiseAddress"),
            // The name Aspire and OpenTelemetry give a node.
            ("OTEL_SERVICE_NAME", "Name"),
            // The key's earlier name.
            ("Tolerex__Member__LeaderAddress", "Leader"),
        ],
        [("port", "Port"), ("metrics", "MetricsPort"), ("io", "Io"), ("data-dir", "DataDir"), ("durability", "Durability")]);

    /// <summary>Adds the original names and the command line to <paramref name="configuration"/> (on top of appsettings.json and the environment).</summary>
    public static void AddMemberConfiguration(this IConfigurationManager configuration, string[] args, Func<string, string?>? environment = null)
    {
        ChoiceConverter.Register(("buffered", IoMode.Buffered), ("unbuffered", IoMode.Unbuffered));
        ChoiceConverter.Register(("fsync", Durability.Fsync), ("os", Durability.Os));
        configuration.AddNodeConfiguration(args, Aliases, environment);
    }

    /// <summary>
    /// Binds <see cref="MemberOptions"/> and <see cref="MessageStoreOptions"/> (both from <c>Tolerex:Member</c>),
    /// validated at start-up, with the defaults that depend on the port.
    /// </summary>
    public static IServiceCollection AddMemberOptions(this IServiceCollection services)
    {
        services.AddValidatedOptions<MemberOptions, MemberOptionsValidator>(MemberOptions.Section);
        services.AddSingleton<IPostConfigureOptions<MemberOptions>, MemberOptionsDefaults>();
        services.AddSingleton<IValidateOptions<MemberOptions>, MemberAddressValidator>();
        services.AddValidatedOptions<MessageStoreOptions, MessageStoreOptionsValidator>(MemberOptions.Section)
            .PostConfigure<IOptions<MemberOptions>>((store, member) =>
            {
                if (string.IsNullOrWhiteSpace(store.DataDir))
                    store.DataDir = Path.Combine("data", $"member-{member.Value.Port}");
            });
        return services;
    }
}
