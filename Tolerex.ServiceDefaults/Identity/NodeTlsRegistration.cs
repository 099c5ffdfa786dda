using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Tolerex.ServiceDefaults.Identity;

public static class NodeTlsRegistration
{
    /// <summary>
    /// Registers the node's <see cref="NodeTls"/>, loaded from <c>Tolerex:Tls</c> for the identity
    /// <paramref name="identity"/> returns (and, for a development certificate, valid for <paramref name="hostNames"/>).
    /// </summary>
    public static IServiceCollection AddNodeTls(this IServiceCollection services, Func<IServiceProvider, PeerIdentity> identity,
        Func<IServiceProvider, IEnumerable<string>>? hostNames = null)
    {
        services.AddOptions<TlsOptions>().BindConfiguration(NodeTls.Section);
        return services.AddSingleton(sp => NodeTls.Load(sp.GetRequiredService<IOptions<TlsOptions>>().Value, identity(sp), hostNames?.Invoke(sp)));
    }
}
