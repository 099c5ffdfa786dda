using System.Buffers;
using System.IO.Pipelines;
using Microsoft.Extensions.Options;
using Tolerex.Leader.Configuration;
using Tolerex.Protocol.HaToKuSe;

namespace Tolerex.Leader.Frontends;

/// <summary>
/// One HaToKuSe connection: the banner and prompt, then every complete line executed in order (pipelined SETs
/// side by side, see <see cref="PipelinedSets"/>). A line longer than the limit is refused before more of it is
/// buffered.
/// </summary>
internal sealed class HaToKuSeConnectionHandler(
    HaToKuSeCommands executor,
    LeaderForwarder forwarder,
    ClientConnections connections,
    IOptions<LeaderOptions> leaderOptions,
    ILogger<HaToKuSeConnectionHandler> logger)
    : ClientConnectionHandler<HaToKuSeSession>(forwarder, connections, ClientProtocol.HaToKuSe, leaderOptions, logger)
{
    protected override HaToKuSeSession NewSession() =>
        new() { Prompt = Options.Banner, Authenticated = Options.Password is null, Sets = new PipelinedSets(Options.MaxPipelinedSets, Options.MaxLineBytes) };

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
        var sets = session.Sets;
        while (!session.Closing && HaToKuSeParser.TryParse(ref buffer, Options.MaxLineBytes, out var command))
        {
            if (command.Kind == CommandKind.Set && session.Authenticated)
            {
                if (!sets.CanStart(command.Id, command.Payload.Length))
                    await AnswerSetsAsync(session, output);
                var started = PipelinedSets.Now;
                sets.Started(command.Id, command.Payload.Length, executor.StartSet(command), started);
            }
            else
            {
                if (!sets.IsEmpty)
                    await AnswerSetsAsync(session, output);
                await executor.ExecuteAsync(command, session, output);
            }

            rest = buffer;
        }

        if (!sets.IsEmpty)
            await AnswerSetsAsync(session, output);
        return rest;
    }

    private static ValueTask AnswerSetsAsync(HaToKuSeSession session, PipeWriter output) =>
        session.Sets.AnswerAllAsync((stored, started) => HaToKuSeCommands.AnswerSet(stored, started, session, output));
}
