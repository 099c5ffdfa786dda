using System.CommandLine;

namespace Tolerex.Client.Connections;

/// <summary>How to reach the leader: the options every verb that talks to one shares.</summary>
internal sealed class ConnectionOptions
{
    public Option<string> Addr { get; } = new("--addr")
    {
        Description = "Leader HaToKuSe address(es): host:port[,host:port…]; on failure the client moves on to the next",
        DefaultValueFactory = _ => "localhost:6666",
    };

    public Option<string?> Password { get; } = new("--password")
    {
        Description = "Send AUTH <password> after connecting (default: $TOLEREX_PASSWORD)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("TOLEREX_PASSWORD"),
    };

    public Option<bool> Tls { get; } = new("--tls") { Description = "Connect with TLS (a leader started with Tolerex:Leader:Tls=true)" };

    public Option<string?> Ca { get; } = new("--ca")
    {
        Description = "CA certificate (PEM) the leader's certificate must chain to (default: $TOLEREX_CA, else the development CA if present, else the system roots)",
    };

    public ConnectionOptions()
    {
        Addr.Validators.Add(result =>
        {
            try
            {
                Client.Endpoints.Parse(result.GetValueOrDefault<string>()!);
            }
            catch (FormatException e)
            {
                result.AddError($"--addr: {e.Message}");
            }
        });
    }

    public void AddTo(Command command)
    {
        command.Options.Add(Addr);
        command.Options.Add(Password);
        command.Options.Add(Tls);
        command.Options.Add(Ca);
    }

    public IReadOnlyList<(string Host, int Port)> Endpoints(ParseResult parse) => Client.Endpoints.Parse(parse.GetValue(Addr)!);

    public ClientTls? ClientTls(ParseResult parse) => parse.GetValue(Tls) ? Client.ClientTls.Resolve(parse.GetValue(Ca)) : null;
}
