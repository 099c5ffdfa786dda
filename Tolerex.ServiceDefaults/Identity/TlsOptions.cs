namespace Tolerex.ServiceDefaults.Identity;

/// <summary>
/// Where a node's TLS material comes from; bound from <c>Tolerex:Tls</c>. Each of the three may be a PEM file's
/// path or the PEM text itself (what a deployment passes from a secret into an environment variable).
/// </summary>
public sealed class TlsOptions
{
    /// <summary>PEM (file or text) of the CA every peer's certificate must chain to.</summary>
    public string? CaCertificate { get; set; }
    /// <summary>PEM (file or text) of this node's certificate (its subject carries the node's role and name).</summary>
    public string? Certificate { get; set; }
    /// <summary>PEM (file or text) of this node's private key.</summary>
    public string? Key { get; set; }
    /// <summary>With none of the three above set: where the shared development CA lives.</summary>
    public string? DevCaDirectory { get; set; }
}
