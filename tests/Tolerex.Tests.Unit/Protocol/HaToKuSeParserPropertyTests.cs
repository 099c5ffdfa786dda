using System.Buffers;
using System.Globalization;
using System.Text;
using CsCheck;
using Tolerex.Protocol.HaToKuSe;

namespace Tolerex.Tests.Unit.Protocol;

/// <summary>
/// The streaming parser against a deliberately simple reference parser, on random command streams cut
/// into random TCP-like segments. The count is bounded for CI; raise <see cref="Iterations"/> to search longer.
/// </summary>
public class HaToKuSeParserPropertyTests
{
    private const long Iterations = 3000;

    private static readonly Gen<string> Blanks = Gen.OneOfConst(" ", "\t", "  ", " \t", "\t ");
    private static readonly Gen<string> Id = Gen.OneOf(
        Gen.Long.Select(l => l.ToString(CultureInfo.InvariantCulture)),
        Gen.Int[0, 999].Select(i => i.ToString(CultureInfo.InvariantCulture)),
        Gen.OneOfConst("x", "1x", "9223372036854775808", "-9223372036854775809", "-", "+", "+5", "007", "-0", "99999999999999999999"));
    private static readonly Gen<byte[]> Message = Gen.Byte.Array[0, 24].Select(b => b.Where(x => x != (byte)'\n').ToArray());
    private static readonly Gen<string> Keyword = Gen.OneOfConst("SET", "set", "GET", "get", "DEL", "PING", "HELP", "QUIT", "exit", "MEMBERS", "PROMPT", "FOO", "");

    private static readonly Gen<byte[]> Line = Gen.OneOf(
        Gen.Select(Keyword, Blanks, Id, Blanks, Message, (k, b1, id, b2, m) => Bytes(k + b1 + id + b2, m)),
        Gen.Select(Keyword, Blanks, Id, (k, b, id) => Bytes(k + b + id)),
        Gen.Select(Id, Blanks, Keyword, Blanks, Message, (n, b1, k, b2, m) => Bytes(n + b1 + k + b2, m)),
        Gen.Select(Blanks, Keyword, Gen.OneOfConst("", " ON", " off", " maybe", " a b"), (b, k, rest) => Bytes(b + k + rest)),
        Message);

    private static readonly Gen<(byte[] Input, int[] Cuts, int Max)> Stream = Gen.Select(
        Gen.Select(Line, Gen.Bool).Array[1, 8],
        Gen.Int[1, 12].Array[0, 8],
        Gen.Int[8, 64],
        (lines, cuts, max) => (lines.SelectMany(l => l.Item2 ? [.. l.Item1, (byte)'\r', (byte)'\n'] : l.Item1.Append((byte)'\n')).ToArray(), cuts, max));

    [Fact]
    public void Streaming_parser_agrees_with_the_reference_parser_however_the_input_is_split() =>
        Stream.Sample(s => Assert.Equal(Reference(s.Input, s.Max), Streamed(s.Input, s.Cuts, s.Max)), iter: Iterations);

    private static byte[] Bytes(string text, byte[]? tail = null) => [.. Encoding.Latin1.GetBytes(text), .. tail ?? []];

    /// <summary>Feeds the input in chunks, parsing everything complete after each, as the connection handler does.</summary>
    private static List<string> Streamed(byte[] input, int[] cuts, int max)
    {
        var results = new List<string>();
        var pending = new List<byte>();
        var pos = 0;
        var chunk = 0;
        while (pos < input.Length)
        {
            var size = cuts.Length == 0 ? input.Length : cuts[chunk++ % cuts.Length];
            var take = Math.Min(size, input.Length - pos);
            pending.AddRange(input.AsSpan(pos, take));
            pos += take;

            var buffer = new ReadOnlySequence<byte>(pending.ToArray());
            while (HaToKuSeParser.TryParse(ref buffer, max, out var command))
            {
                results.Add(Describe(command));
                if (command.Error == ProtocolError.LineTooLong)
                    return results;
            }

            pending.RemoveRange(0, pending.Count - (int)buffer.Length);
        }

        return results;
    }

    /// <summary>The protocol rules, written as plainly as possible over the whole input.</summary>
    private static List<string> Reference(byte[] input, int max)
    {
        var results = new List<string>();
        var start = 0;
        for (var lf = Array.IndexOf(input, (byte)'\n'); lf >= 0; lf = Array.IndexOf(input, (byte)'\n', start))
        {
            var line = input[start..lf];
            start = lf + 1;
            if (line.Length > 0 && line[^1] == (byte)'\r')
                line = line[..^1];
            if (line.Length > max)
            {
                results.Add(Describe(HaToKuSeCommand.Invalid(ProtocolError.LineTooLong)));
                return results;
            }

            results.Add(Describe(ReferenceLine(line)));
        }

        return results;
    }

    private static bool IsBlank(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\v' or (byte)'\f';

    private static HaToKuSeCommand ReferenceLine(byte[] line)
    {
        // Tokens with their start offsets.
        var tokens = new List<(int Start, string Text)>();
        for (var i = 0; i < line.Length;)
        {
            if (IsBlank(line[i]))
            {
                i++;
                continue;
            }

            var s = i;
            while (i < line.Length && !IsBlank(line[i]))
                i++;
            tokens.Add((s, Encoding.Latin1.GetString(line, s, i - s)));
        }

        if (tokens.Count == 0)
            return new HaToKuSeCommand(CommandKind.Empty);
        var keyword = tokens[0].Text.ToUpperInvariant();
        HaToKuSeCommand WithPayload(CommandKind kind, int afterToken, long id = 0, long count = 0) =>
            new(kind, id, count, new ReadOnlySequence<byte>(line[(afterToken + 1)..]));

        if (keyword == "SET")
        {
            if (tokens.Count < 2)
                return HaToKuSeCommand.Invalid(ProtocolError.SetUsage);
            var idEnd = tokens[1].Start + tokens[1].Text.Length;
            if (idEnd == line.Length)
                return HaToKuSeCommand.Invalid(ProtocolError.SetUsage);
            return TryId(tokens[1].Text, out var id) ? WithPayload(CommandKind.Set, idEnd, id) : HaToKuSeCommand.Invalid(ProtocolError.IdNotNumeric);
        }

        if (tokens[0].Text.TrimStart('+', '-') is { Length: > 0 } digits && digits.All(char.IsAsciiDigit) && tokens[0].Text.Length - digits.Length <= 1)
        {
            if (tokens.Count < 2 || tokens[1].Text.ToUpperInvariant() != "SET")
                return HaToKuSeCommand.Invalid(ProtocolError.UnknownCommand);
            if (!TryId(tokens[0].Text, out var count) || count <= 0)
                return HaToKuSeCommand.Invalid(ProtocolError.CountNotValid);
            var setEnd = tokens[1].Start + 3;
            return setEnd == line.Length ? HaToKuSeCommand.Invalid(ProtocolError.BulkUsage) : WithPayload(CommandKind.BulkSet, setEnd, count: count);
        }

        switch (keyword)
        {
            case "GET" or "DEL":
                var isGet = keyword == "GET";
                if (tokens.Count != 2)
                    return HaToKuSeCommand.Invalid(isGet ? ProtocolError.GetUsage : ProtocolError.DelUsage);
                return TryId(tokens[1].Text, out var id)
                    ? new HaToKuSeCommand(isGet ? CommandKind.Get : CommandKind.Del, id)
                    : HaToKuSeCommand.Invalid(ProtocolError.IdNotNumeric);
            case "HELP":
                return new HaToKuSeCommand(CommandKind.Help);
            case "QUIT" or "EXIT":
                return new HaToKuSeCommand(CommandKind.Quit);
            case "PING":
                return new HaToKuSeCommand(CommandKind.Ping);
            case "MEMBERS":
                return new HaToKuSeCommand(CommandKind.Members);
            case "PROMPT":
                return tokens.Count == 2 && tokens[1].Text.ToUpperInvariant() is "ON" or "OFF"
                    ? new HaToKuSeCommand(CommandKind.Prompt, Flag: tokens[1].Text.ToUpperInvariant() == "ON")
                    : HaToKuSeCommand.Invalid(ProtocolError.PromptUsage);
            default:
                return HaToKuSeCommand.Invalid(ProtocolError.UnknownCommand);
        }
    }

    private static bool TryId(string token, out long value) =>
        long.TryParse(token, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);

    private static string Describe(HaToKuSeCommand c) =>
        $"{c.Kind} id={c.Id} count={c.Count} flag={c.Flag} error={c.Error} payload={Convert.ToHexString(c.Payload.ToArray())}";
}
