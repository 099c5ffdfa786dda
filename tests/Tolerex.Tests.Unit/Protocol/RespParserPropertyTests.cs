using System.Buffers;
using System.Text;
using CsCheck;
using Tolerex.Protocol.Resp;

namespace Tolerex.Tests.Unit.Protocol;

/// <summary>
/// Random requests (random bytes, random argument counts) encoded as multibulk, several per buffer, fed in
/// random TCP-like chunks and held in random segments, must parse back to exactly the same elements and
/// consume exactly the encoded bytes; and any protocol-shaped garbage must give the same requests, error or
/// leftover whether parsed whole or in pieces. The count is bounded for CI; raise <see cref="Iterations"/> to search longer.
/// </summary>
public class RespParserPropertyTests
{
    private const long Iterations = 3000;

    private static readonly RespLimits Limits = new(MaxBulkBytes: 64, MaxArguments: 8, MaxInlineBytes: 256);

    /// <summary>Elements of one request: the name, then the arguments; any bytes at all.</summary>
    private static readonly Gen<byte[][]> Request = Gen.Byte.Array[0, 64].Array[1, 9];

    /// <summary>Empty requests (skipped by the parser) that may come before a request.</summary>
    private static readonly Gen<string> Skippable = Gen.OneOfConst("", "", "", "*0\r\n", "*-1\r\n", "\r\n", " \t\r\n");

    private static readonly Gen<(byte[][][] Requests, string[] Skips, int[] Chunks, int[] Segments)> Stream = Gen.Select(
        Request.Array[1, 8],
        Skippable.Array[8],
        Gen.Int[1, 40].Array[0, 6],
        Gen.Int[1, 16].Array[0, 6]);

    [Fact]
    public void Multibulk_requests_round_trip_however_the_input_is_split() =>
        Stream.Sample(s =>
        {
            var (input, ends) = Encode(s.Requests, s.Skips);
            var (parsed, consumedAt) = Streamed(input, s.Chunks, s.Segments);
            Assert.Equal(s.Requests.Select(Describe), parsed);
            Assert.Equal(ends, consumedAt);
        }, iter: Iterations);

    private static readonly RespLimits SmallLimits = new(MaxBulkBytes: 8, MaxArguments: 3, MaxInlineBytes: 16);

    /// <summary>Protocol-shaped garbage: pieces of headers, numbers, line ends and words in any order.</summary>
    private static readonly Gen<byte[]> Garbage = Gen.OneOfConst(
            "*", "$", "\r\n", "\r", "\n", "0", "1", "2", "3", "9", "-1", "12", "SET", "get", " ", "\t", "x", "\0", "*2\r\n", "$3\r\n")
        .Array[1, 40]
        .Select(pieces => Encoding.Latin1.GetBytes(string.Concat(pieces)));

    [Fact]
    public void Any_input_gives_the_same_outcome_whole_or_in_pieces() =>
        Gen.Select(Garbage, Gen.Int[1, 7].Array[0, 5], Gen.Int[1, 7].Array[0, 5]).Sample((input, chunks, segments) =>
            Assert.Equal(Whole(input), Pieces(input, chunks, segments)), iter: Iterations);

    /// <summary>Every request parsed from the whole input in one buffer, then how parsing stopped.</summary>
    private static List<string> Whole(byte[] input)
    {
        var outcomes = new List<string>();
        var request = new RespRequest();
        var buffer = new ReadOnlySequence<byte>(input);
        RespParseResult result;
        while ((result = RespParser.TryParse(ref buffer, request, SmallLimits)) == RespParseResult.Parsed)
            outcomes.Add($"{request.Kind} {Describe(request)}");
        outcomes.Add(result == RespParseResult.Invalid ? $"invalid {request.Error}" : $"waiting on {Convert.ToHexString(buffer.ToArray())}");
        return outcomes;
    }

    /// <summary>The same, with the input arriving in chunks and held in segments.</summary>
    private static List<string> Pieces(byte[] input, int[] chunks, int[] segments)
    {
        var outcomes = new List<string>();
        var request = new RespRequest();
        var pending = new List<byte>();
        var pos = 0;
        var chunk = 0;
        while (pos < input.Length)
        {
            var take = Math.Min(chunks.Length == 0 ? input.Length : chunks[chunk++ % chunks.Length], input.Length - pos);
            pending.AddRange(input.AsSpan(pos, take));
            pos += take;

            var bytes = pending.ToArray();
            var buffer = SegmentedBuffer.Of(bytes, Cuts(bytes.Length, segments));
            RespParseResult result;
            while ((result = RespParser.TryParse(ref buffer, request, SmallLimits)) == RespParseResult.Parsed)
                outcomes.Add($"{request.Kind} {Describe(request)}");
            if (result == RespParseResult.Invalid)
            {
                outcomes.Add($"invalid {request.Error}");
                return outcomes;
            }

            pending.RemoveRange(0, bytes.Length - (int)buffer.Length);
        }

        outcomes.Add($"waiting on {Convert.ToHexString([.. pending])}");
        return outcomes;
    }

    /// <summary>The encoded stream and, for each request, the offset just past its last byte.</summary>
    private static (byte[] Input, List<long> Ends) Encode(byte[][][] requests, string[] skips)
    {
        var input = new List<byte>();
        var ends = new List<long>();
        for (var i = 0; i < requests.Length; i++)
        {
            input.AddRange(Encoding.ASCII.GetBytes(skips[i % skips.Length]));
            input.AddRange(Encoding.ASCII.GetBytes($"*{requests[i].Length}\r\n"));
            foreach (var element in requests[i])
                input.AddRange([.. Encoding.ASCII.GetBytes($"${element.Length}\r\n"), .. element, (byte)'\r', (byte)'\n']);
            ends.Add(input.Count);
        }

        return ([.. input], ends);
    }

    /// <summary>
    /// Feeds the input in chunks, parsing everything complete after each as the connection handler does,
    /// with the unconsumed bytes held in segments of the given sizes.
    /// </summary>
    private static (List<string> Parsed, List<long> ConsumedAt) Streamed(byte[] input, int[] chunks, int[] segments)
    {
        var parsed = new List<string>();
        var consumedAt = new List<long>();
        var request = new RespRequest();
        var pending = new List<byte>();
        long consumed = 0;
        var pos = 0;
        var chunk = 0;
        while (pos < input.Length)
        {
            var size = chunks.Length == 0 ? input.Length : chunks[chunk++ % chunks.Length];
            var take = Math.Min(size, input.Length - pos);
            pending.AddRange(input.AsSpan(pos, take));
            pos += take;

            var bytes = pending.ToArray();
            var buffer = SegmentedBuffer.Of(bytes, Cuts(bytes.Length, segments));
            RespParseResult result;
            while ((result = RespParser.TryParse(ref buffer, request, Limits)) == RespParseResult.Parsed)
            {
                parsed.Add(Describe(request));
                consumedAt.Add(consumed + bytes.Length - buffer.Length);
            }

            Assert.Equal(RespParseResult.NeedMore, result);
            var used = bytes.Length - (int)buffer.Length;
            consumed += used;
            pending.RemoveRange(0, used);
        }

        Assert.Empty(pending);
        return (parsed, consumedAt);
    }

    private static int[] Cuts(int length, int[] sizes)
    {
        var cuts = new List<int>();
        for (int at = 0, i = 0; sizes.Length > 0 && at < length; i++)
            cuts.Add(at += sizes[i % sizes.Length]);
        return [.. cuts];
    }

    private static string Describe(byte[][] elements) => string.Join(" ", elements.Select(e => "[" + Convert.ToHexString(e) + "]"));

    private static string Describe(RespRequest request) =>
        Describe([request.Name.ToArray(), .. Enumerable.Range(0, request.ArgumentCount).Select(i => request.Argument(i).ToArray())]);
}
