using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;
using Tolerex.Protocol.HaToKuSe;

namespace Tolerex.Client.Session;

/// <summary>
/// The interactive client: each input line is one command, its reply goes to <c>replies</c>. Besides the
/// server's commands it understands <c>&lt;N&gt; SET &lt;message&gt;</c> (N SETs from this client's id range, each
/// acknowledgement counted), <c>FILE &lt;path&gt;</c> and <c>&lt;N&gt; FILE &lt;path&gt;</c> (a file's content as the
/// message). End of input sends QUIT and waits (bounded) for Bye, so piping a file of commands works and the
/// client never hangs, also on EOF without QUIT.
/// </summary>
internal sealed partial class InteractiveSession(TextReader input, Stream replies, TextWriter log, SessionOptions options, CsvLog? csv = null)
{
    public static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(5);

    public async Task<int> RunAsync(IReadOnlyList<(string Host, int Port)> endpoints, CancellationToken cancellationToken)
    {
        await using var session = await ClientSession.OpenAsync(endpoints, options, replies, log, csv, cancellationToken);
        if (session is null)
            return 1;

        var exit = 0;
        while (true)
        {
            if (options.Prompt)
                await log.WriteAsync("tolerex> ");
            var line = await input.ReadLineAsync(cancellationToken);
            if (line is null)
            {
                // End of input: say goodbye, but never wait long for a server that does not answer.
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                wait.CancelAfter(CloseWait);
                try
                {
                    await ExecuteAsync(session, "QUIT", wait.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                }

                break;
            }

            var more = await ExecuteAsync(session, line, cancellationToken);
            await session.FlushRepliesAsync(cancellationToken);
            if (more is null)
            {
                exit = 1;
                break;
            }

            if (more == false)
                break;
        }

        await session.FlushRepliesAsync(cancellationToken);
        await session.WriteSummaryAsync();
        return exit;
    }

    /// <summary>True to go on, false after QUIT, null when the leader is gone for good.</summary>
    internal static async Task<bool?> ExecuteAsync(ClientSession session, string line, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(line))
            return true;

        if (BulkPattern().Match(line) is { Success: true } bulk)
        {
            if (!long.TryParse(bulk.Groups["count"].ValueSpan, out var count) || count < 1)
                return Reply(session, "ERROR: count must be a positive number");
            var isFile = bulk.Groups["verb"].Value.Equals("FILE", StringComparison.OrdinalIgnoreCase);
            if (!bulk.Groups["rest"].Success || (isFile && string.IsNullOrWhiteSpace(bulk.Groups["rest"].Value)))
                return Reply(session, isFile ? "ERROR: <N> FILE <path>" : "ERROR: <N> SET <message>");
            var message = isFile ? ReadFileMessage(session, bulk.Groups["rest"].Value) : Encoding.UTF8.GetBytes(bulk.Groups["rest"].Value);
            if (message is null)
                return true;
            var outcome = await session.BulkSetAsync(count, message, suffixId: !isFile, isFile ? "BULK_FILE" : "BULK_SET", cancellationToken);
            return outcome.Lost ? null : Reply(session, outcome.Errors == 0
                ? $"OK {outcome.Acked} acknowledged, ids {outcome.FirstId}..{outcome.FirstId + outcome.Count - 1}"
                : $"ERROR: {outcome.Errors} of {outcome.Count} not acknowledged, ids {outcome.FirstId}..{outcome.FirstId + outcome.Count - 1}");
        }

        byte[] bytes;
        if (FilePattern().Match(line) is { Success: true } file)
        {
            var message = ReadFileMessage(session, file.Groups["path"].Value);
            if (message is null)
                return true;
            var buffer = new ArrayBufferWriter<byte>(message.Length + 32);
            HaToKuSeWriter.WriteSet(buffer, session.NextId(), message);
            bytes = buffer.WrittenSpan[..^2].ToArray();
        }
        else
        {
            bytes = Encoding.UTF8.GetBytes(line);
        }

        var command = HaToKuSeParser.ParseLine(new ReadOnlySequence<byte>(bytes));
        if (command.Kind == CommandKind.Prompt)
            return Reply(session, "ERROR: the client keeps the server's prompt off (it prints its own)");
        // A server-side "<N> SET" never reaches here (the bulk pattern takes it), so every other command has a framed reply.
        var result = await session.RoundTripAsync(bytes, command.Kind, command.Kind == CommandKind.Set ? command.Payload.Length : 0, cancellationToken);
        if (result is null)
            return null;
        foreach (var reply in result.Lines)
            session.WriteReply(reply);
        return command.Kind != CommandKind.Quit;
    }

    private static bool Reply(ClientSession session, string text)
    {
        session.WriteReply(Encoding.UTF8.GetBytes(text));
        return true;
    }

    /// <summary>A file as one message: its line ends become spaces (a message cannot hold CR or LF).</summary>
    private static byte[]? ReadFileMessage(ClientSession session, string path)
    {
        try
        {
            var bytes = File.ReadAllBytes(path.Trim());
            for (var i = 0; i < bytes.Length; i++)
            {
                if (bytes[i] is (byte)'\r' or (byte)'\n')
                    bytes[i] = (byte)' ';
            }

            return bytes;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            Reply(session, $"ERROR: cannot read {path.Trim()}: {e.Message}");
            return null;
        }
    }

    [GeneratedRegex(@"^\s*(?<count>[0-9]+)\s+(?<verb>SET|FILE)(?:[ \t](?<rest>.*))?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex BulkPattern();

    [GeneratedRegex(@"^\s*FILE\s+(?<path>.+)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex FilePattern();
}
