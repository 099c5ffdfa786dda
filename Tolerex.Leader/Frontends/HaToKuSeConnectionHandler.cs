using System.Buffers;
using System.IO.Pipelines;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;
using Tolerex.Protocol.HaToKuSe;

namespace Tolerex.Leader.Frontends;

/// <summary>
/// One HaToKuSe connection: the banner and prompt, then every complete line executed in order. A line longer
/// than the limit is refused before more of it is buffered.
/// </summary>
internal sealed class HaToKuSeConnectionHandler(
    HaToKuSeCommands executor,
    LeaderForwarder forwarder,
    ClientConnections connections,
    IOptions<LeaderOptions> leaderOptions,
    ILogger<HaToKuSeConnectionHandler> logger)
    : ClientConnectionHandler<HaToKuSeSession>(forwarder, connections, ClientProtocol.HaToKuSe, leaderOptions, logger)
{
    protected override HaToKuSeSession NewSession() => new() { Prompt = Options.Banner, Authenticated = Options.Password is null };

    protected override void Greet(HaToKuSeSession session, PipeWriter output)
    {
        if (!session.Prompt)
            return;
        HaToKuSeWriter.Write(output, HaToKuSeText.Banner);
        HaToKuSeWriter.Write(output, HaToKuSeText.Prompt);
    }

    protected override async ValueTask<ReadOnlySequence<byte>> ExecuteAsync(ReadOnlySequence<byte> buffer, HaToKuSeSession session, PipeWriter output)
    {
        var rest = buffer;
        while (!session.Closing && HaToKuSeParser.TryParse(ref buffer, Options.MaxLineBytes, out var command))
        {
            await executor.ExecuteAsync(command, session, output);
            rest = buffer;
        }

        return rest;
    }
}
