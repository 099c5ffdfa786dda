using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Tolerex.ServiceDefaults.Configuration;
using Tolerex.ServiceDefaults.Identity;

namespace Tolerex.Member.Configuration;

/// <summary>
/// How a member listens and finds its leader; bound from <c>Tolerex:Member</c> (its storage settings are
/// <see cref="Store.MessageStoreOptions"/>, bound from the same section).
/// </summary>
internal sealed class MemberOptions
{
    public const string Section = "Tolerex:Member";

    [Range(0, 65535)]
    public int Port { get; set; } = 5556;
    [Range(0, 65535)]
    public int MetricsPort { get; set; } = 9092;
    /// <summary>
    /// The gRPC address (host:port or URL) of the leader, or of every node of a leader group, comma-separated:
    /// the member follows whichever of them accepts it.
    /// </summary>
    [Required(ErrorMessage = "is required")]
    public string Leader { get; set; } = "localhost:5555";
    /// <summary>The address this member advertises and the leader dials; empty means https://localhost:&lt;port&gt;.</summary>
    public string AdvertiseAddress { get; set; } = "";
    /// <summary>The member's name, which is also its identity (certificate CN); empty means member-&lt;port&gt;.</summary>
    [RegularExpression(@"^[A-Za-z0-9._-]{1,64}$", ErrorMessage = "must be 1-64 letters, digits, '.', '_' or '-'")]
    public string Name { get; set; } = "";
    /// <summary>Largest gRPC message accepted: the leader's maximum line plus framing.</summary>
    [Range(1024, 1024 * 1024 * 1024)]
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024 + 64 * 1024;
    /// <summary>Longest wait between registration attempts while the leader is unreachable.</summary>
    [PositiveDuration]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(2);
    /// <summary>Deadline of each register/heartbeat call.</summary>
    [PositiveDuration]
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The addresses in <see cref="Leader"/>, in order.</summary>
    public string[] LeaderAddresses => Leader.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The identity this member's certificate carries.</summary>
    public PeerIdentity Identity => new(NodeRole.Member, Name);
}

[OptionsValidator]
internal sealed partial class MemberOptionsValidator : IValidateOptions<MemberOptions>;

/// <summary>Addresses must be ones a gRPC channel can dial.</summary>
internal sealed class MemberAddressValidator : IValidateOptions<MemberOptions>
{
    private const string LeaderFormat = "Leader: must be host:port or https://host:port, or several of them comma-separated";

    public ValidateOptionsResult Validate(string? name, MemberOptions options)
    {
        // The default advertised address is made from the port, which has its own check.
        var leaders = options.LeaderAddresses;
        if (leaders.Length == 0)
            return ValidateOptionsResult.Fail(LeaderFormat);
        foreach (var (key, value) in leaders.Select(a => ("Leader", a)).Append(("AdvertiseAddress", options.Port is >= 0 and <= 65535 ? options.AdvertiseAddress : "localhost")))
        {
            try
            {
                NodeChannels.ToUri(value);
            }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                return ValidateOptionsResult.Fail(key == "Leader" ? LeaderFormat : $"{key}: must be host:port or https://host:port");
            }
        }

        return ValidateOptionsResult.Success;
    }
}

/// <summary>Defaults that depend on the port: name, advertised address.</summary>
internal sealed class MemberOptionsDefaults : IPostConfigureOptions<MemberOptions>
{
    public void PostConfigure(string? name, MemberOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Name))
            options.Name = $"member-{options.Port}";
        if (string.IsNullOrWhiteSpace(options.AdvertiseAddress))
            options.AdvertiseAddress = $"https://localhost:{options.Port}";
    }
}
