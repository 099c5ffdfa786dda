using System.Security.Cryptography.X509Certificates;

namespace Tolerex.ServiceDefaults.Identity;

/// <summary>What a node is allowed to do; carried in its certificate's subject as <c>OU=tolerex-&lt;role&gt;</c>.</summary>
public enum NodeRole
{
    Leader,
    Member,
    Client,
}

/// <summary>
/// Who is on the other end of a TLS connection: a role and a name, read from the certificate subject
/// (<c>O=Tolerex, OU=tolerex-member, CN=member1</c>) — the same shape as Kubernetes' CN=user, O=group, so
/// production certificates are easy to make with any tool (docs/operations.md).
/// </summary>
public sealed record PeerIdentity(NodeRole Role, string Name)
{
    private const string CommonNameOid = "2.5.4.3";
    private const string OrganizationalUnitOid = "2.5.4.11";
    private const string RolePrefix = "tolerex-";
    public const int MaxNameLength = 64;

    public static PeerIdentity Leader { get; } = new(NodeRole.Leader, "leader");

    public X500DistinguishedName ToDistinguishedName()
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.AddOrganizationName("Tolerex");
        builder.AddOrganizationalUnitName(RolePrefix + Role.ToString().ToLowerInvariant());
        builder.AddCommonName(Name);
        return builder.Build();
    }

    /// <summary>The identity a certificate carries, or null when its subject names no Tolerex role and name.</summary>
    public static PeerIdentity? From(X509Certificate2? certificate)
    {
        if (certificate is null)
            return null;
        string? unit = null, name = null;
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (rdn.HasMultipleElements)
                continue;
            switch (rdn.GetSingleElementType().Value)
            {
                case OrganizationalUnitOid when (rdn.GetSingleElementValue() ?? "").StartsWith(RolePrefix, StringComparison.Ordinal):
                    unit = rdn.GetSingleElementValue();
                    break;
                case CommonNameOid:
                    name = rdn.GetSingleElementValue();
                    break;
            }
        }

        if (unit is null || name is null || !IsValidName(name))
            return null;
        return unit[RolePrefix.Length..] switch
        {
            "leader" => new PeerIdentity(NodeRole.Leader, name),
            "member" => new PeerIdentity(NodeRole.Member, name),
            "client" => new PeerIdentity(NodeRole.Client, name),
            _ => null,
        };
    }

    /// <summary>Names end up in file names and logs: letters, digits, '.', '_' and '-' only.</summary>
    public static bool IsValidName(string name) =>
        name.Length is > 0 and <= MaxNameLength && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    public override string ToString() => $"{Role.ToString().ToLowerInvariant()}/{Name}";
}
