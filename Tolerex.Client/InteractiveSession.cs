using System.Security.Authentication;
using System.Text;

namespace Tolerex.Client;

/// <summary>
/// The interactive client: what the server sends goes to <c>output</c> as it arrives; each input line is
/// sent with CRLF. End of input sends QUIT and waits (bounded) for the server to close, so piping a file of
/// commands into the client works and the client never hangs (the original did, on EOF without QUIT).
/// </summary>
internal sealed class InteractiveSession(TextReader input, Stream output, TextWriter error, string? password = null, ClientTls? tls = null)
{
    public static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(5);

    public async Task<int> RunAsync(IReadOnlyList<(string Host, int Port)> endpoints, CancellationToken cancellationToken)
    {
        using var tcp = await Endpoints.ConnectFirstAsync(endpoints, error, cancellationToken);
        if (tcp is null)
        {
            await error.WriteLineAsync("error: no Tolerex leader reachable at " + string.Join(", ", endpoints.Select(e => $"{e.Host}:{e.Port}")));
            return 1;
        }

        Stream stream = tcp.GetStream();
        if (tls is not null)
        {
            try
            {
                stream = await tls.AuthenticateAsync(stream, Endpoints.HostOf(tcp, endpoints), cancellationToken);
            }
            catch (Exception e) when (e is AuthenticationException or IOException)
            {
                await error.WriteLineAsync($"error: TLS with the leader failed: {e.Message}");
                return 1;
            }
        }

        await using var _ = stream;
        var fromServer = stream.CopyToAsync(output, cancellationToken);
        if (password is not null)
            await stream.WriteAsync(Encoding.UTF8.GetBytes($"AUTH {password}\r\n"), cancellationToken);
        Task<string?>? pendingLine = null;
        while (true)
        {
            pendingLine ??= input.ReadLineAsync(cancellationToken).AsTask();
            var first = await Task.WhenAny(pendingLine, fromServer);
            if (first == fromServer)
                return await Finished(fromServer);

            var line = await pendingLine;
            pendingLine = null;
            var quitting = line is null || IsQuit(line);
            try
            {
                await stream.WriteAsync(Encoding.UTF8.GetBytes((line ?? "QUIT") + "\r\n"), cancellationToken);
            }
            catch (IOException)
            {
                return await Finished(fromServer);
            }

            if (quitting)
                break;
        }

        // Wait for "Bye" and the server's close, but never forever.
        await Task.WhenAny(fromServer, Task.Delay(CloseWait, cancellationToken));
        await output.FlushAsync(cancellationToken);
        return 0;
    }

    private async Task<int> Finished(Task fromServer)
    {
        try
        {
            await fromServer;
        }
        catch (IOException e)
        {
            await error.WriteLineAsync("connection lost: " + e.Message);
        }

        await output.FlushAsync();
        return 0;
    }

    private static bool IsQuit(string line)
    {
        var word = line.Trim().Split(' ', '\t')[0];
        return word.Equals("QUIT", StringComparison.OrdinalIgnoreCase) || word.Equals("EXIT", StringComparison.OrdinalIgnoreCase);
    }
}
