using System.CommandLine;
using Tolerex.ServiceDefaults.Identity;

namespace Tolerex.Leader.Deployment;

/// <summary>
/// <c>Tolerex.Leader issue-certificates</c>: the identities of a deployed cluster, issued by the project's own
/// certificate code. The CA (<c>ca.crt</c>, <c>ca.key</c>) is kept in <c>--ca-dir</c>, created there on first
/// use and reused afterwards; <c>--out</c> receives <c>ca.crt</c> and one certificate and key per identity
/// (<c>leader.crt</c>, <c>leader.key</c>, <c>member-0.crt</c>, …), never the CA's key. Each certificate names
/// the hosts its peers dial, besides localhost and the loopback addresses; not the machine that issued it.
/// </summary>
internal static class IssueCertificatesVerb
{
    public const string Name = "issue-certificates";
    /// <summary>The name a CA created here gets (one made earlier keeps its own).</summary>
    public const string CaName = "Tolerex cluster CA";

    public static Task<int> RunAsync(string[] args)
    {
        var caDir = new Option<DirectoryInfo>("--ca-dir") { Description = "Where the CA's certificate and key live (created on first use); keep it private", Required = true };
        var output = new Option<DirectoryInfo>("--out") { Description = "Where to write ca.crt and every identity's .crt and .key", Required = true };
        var leader = new Option<string[]>("--leader") { Description = "Host names of the leader nodes (one certificate, identity 'leader', for all of them)", AllowMultipleArgumentsPerToken = true, Arity = ArgumentArity.OneOrMore };
        var members = new Option<string[]>("--member") { Description = "A member as name=host[,host…]: its identity and the hosts the leader dials", AllowMultipleArgumentsPerToken = true };
        var clients = new Option<string[]>("--client") { Description = "A client identity's name (for a client port with TLS)", AllowMultipleArgumentsPerToken = true };
        var days = new Option<int>("--days") { Description = "Validity of the node certificates", DefaultValueFactory = _ => (int)CertificateAuthority.DefaultNodeLifetime.TotalDays };
        var command = new Command(Name, "Issues the cluster's CA-signed node identities for a deployment (Kubernetes secret, Aspire manifest parameters).")
            { caDir, output, leader, members, clients, days };
        command.SetAction(parse => Issue(parse.GetValue(caDir)!, parse.GetValue(output)!, parse.GetValue(leader) ?? [], parse.GetValue(members) ?? [],
            parse.GetValue(clients) ?? [], TimeSpan.FromDays(parse.GetValue(days))));
        return new RootCommand { command }.Parse(args).InvokeAsync();
    }

    private static int Issue(DirectoryInfo caDir, DirectoryInfo output, string[] leaderHosts, string[] members, string[] clients, TimeSpan lifetime)
    {
        var identities = new List<(PeerIdentity Identity, string[] Hosts)> { (PeerIdentity.Leader, leaderHosts) };
        foreach (var member in members)
        {
            var (name, hosts) = member.Split('=', 2) is [var n, var h] ? (n, h.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) : (member, []);
            identities.Add((new PeerIdentity(NodeRole.Member, name.Trim()), hosts));
        }

        identities.AddRange(clients.Select(c => (new PeerIdentity(NodeRole.Client, c.Trim()), Array.Empty<string>())));
        var now = DateTimeOffset.UtcNow;
        using var authority = CertificateAuthority.LoadOrCreate(caDir.FullName, CaName, now, NodeTls.ExpiryWarning, out var created);
        Console.WriteLine(created ? $"created the CA in {caDir.FullName}" : $"using the CA in {caDir.FullName}");
        if (OperatingSystem.IsWindows())
            Directory.CreateDirectory(output.FullName);
        else
            Directory.CreateDirectory(output.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.WriteAllText(Path.Combine(output.FullName, "ca.crt"), authority.Certificate.ExportCertificatePem());
        foreach (var (identity, hosts) in identities)
        {
            // The nodes run elsewhere: this machine's name has no place in their certificates.
            using var certificate = authority.Issue(identity, now, lifetime, hosts, thisHost: false);
            CertificateAuthority.SaveNode(certificate, Path.Combine(output.FullName, identity.Name + ".crt"), Path.Combine(output.FullName, identity.Name + ".key"));
            Console.WriteLine($"{identity}: {identity.Name}.crt, {identity.Name}.key ({string.Join(", ", hosts.DefaultIfEmpty("no extra host"))})");
        }

        return 0;
    }
}
